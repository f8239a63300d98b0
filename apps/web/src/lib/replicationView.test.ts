import { describe, expect, it } from 'vitest';
import { ageText, relayStateText, rttText, stateVectorRows } from './replicationView.ts';

describe('stateVectorRows', () => {
  it('lines up local and acked clocks client by client, missing clients at 0', () => {
    const rows = stateVectorRows({
      docName: 'w',
      pendingLocal: true,
      local: [
        { clientId: 7, clock: 12 },
        { clientId: 3, clock: 5 },
      ],
      acked: [
        { relayId: 'ra', relayUrl: 'ws://a/sync', stateVector: [{ clientId: 3, clock: 5 }] },
        {
          relayId: 'rb',
          relayUrl: 'ws://b/sync',
          stateVector: [
            { clientId: 7, clock: 12 },
            { clientId: 9, clock: 4 },
          ],
        },
      ],
    });
    expect(rows).toEqual([
      { clientId: 3, local: 5, acked: [5, 0], behind: [false, true] },
      { clientId: 7, local: 12, acked: [0, 12], behind: [true, false] },
      { clientId: 9, local: 0, acked: [0, 4], behind: [false, false] },
    ]);
  });

  it('has no rows for an empty doc', () => {
    expect(stateVectorRows({ docName: 'w', pendingLocal: false, local: [], acked: [] })).toEqual(
      [],
    );
  });
});

describe('ageText', () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);
  it('is fine-grained for the last minute', () => {
    expect(ageText(null, now)).toBe('never');
    expect(ageText(now - 500, now)).toBe('just now');
    expect(ageText(now + 3000, now)).toBe('just now');
    expect(ageText(now - 12_400, now)).toBe('12 s ago');
    expect(ageText(now - 5 * 60_000, now)).toBe('5 min ago');
  });
});

describe('relay words', () => {
  it('names states and round trips', () => {
    expect(relayStateText('standby')).toBe('Standby');
    expect(relayStateText('connected')).toBe('Connected');
    expect(rttText(null)).toBe('—');
    expect(rttText(0.3)).toBe('<1 ms');
    expect(rttText(12.6)).toBe('13 ms');
  });
});
