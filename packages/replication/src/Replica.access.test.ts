import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocHandle, Transport } from './ports.ts';
import {
  CloseCode,
  DocErrorCode,
  decodeYMessage,
  encodeDocError,
  SyncStep,
  YMessageType,
} from './protocol.ts';
import { Replica } from './Replica.ts';
import type { Access } from './relay/access.ts';
import type { ReplicaAccess } from './replicationInfo.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { docMessagesIn } from './testing/docMessagesIn.ts';
import { ReplicaWorld } from './testing/ReplicaWorld.ts';
import type { FrameDirection } from './transport/MemoryTransport.ts';
import { MemoryTransport } from './transport/MemoryTransport.ts';

const worlds: ReplicaWorld[] = [];
const extras: Replica[] = [];
afterEach(async () => {
  await Promise.all(extras.splice(0).map((r) => r.destroy()));
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

/** Client ids whose changes were sent toward the relay in a Step2/Update message. */
function watchWrites(): {
  observe: (frame: Uint8Array, direction: FrameDirection) => void;
  writers: Set<number>;
} {
  const writers = new Set<number>();
  return {
    writers,
    observe: (frame, direction) => {
      if (direction !== 'up') return;
      for (const m of docMessagesIn(frame)) {
        const y = decodeYMessage(m.message);
        if (y.type !== YMessageType.Sync || y.step === SyncStep.Step1) continue;
        for (const client of Y.parseUpdateMeta(y.payload).to.keys()) writers.add(client);
      }
    },
  };
}

function world(options: ConstructorParameters<typeof ReplicaWorld>[0] = {}): ReplicaWorld {
  const w = new ReplicaWorld(options);
  worlds.push(w);
  return w;
}

async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 4000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const body = (handle: DocHandle) => handle.doc.getText('body').toString();

function client(
  role: 'read' | 'write' | 'owner',
  workspaceId = 'ws',
  grantId = `g-${role}`,
): Access {
  return { kind: 'client', workspaceId, role, grantId, expiresAt: null };
}

async function relayText(w: ReplicaWorld, docName: string): Promise<string> {
  const { updates } = await w.relayStorage.load(docName);
  const doc = new Y.Doc();
  if (updates.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(updates));
  return doc.getText('body').toString();
}

describe('Replica access', () => {
  it('reads the role from the relay Hello (full with auth off)', async () => {
    const w = world();
    const open = w.replica();
    const writer = w.replica({ relays: [w.urlFor(client('write'))] });
    const seen: ReplicaAccess[] = [];
    writer.onAccessChange((a) => seen.push(a));
    expect(writer.access).toEqual({ role: null, problem: null, reason: '' });
    await Promise.all([open.open('ws'), writer.open('ws')]);
    await Promise.all([open.whenSynced(), writer.whenSynced()]);
    expect(open.access.role).toBe('full');
    expect(writer.access).toEqual({ role: 'write', problem: null, reason: '' });
    expect(seen).toEqual([{ role: 'write', problem: null, reason: '' }]);
  });

  it('with role read receives everything and sends no update; edits stay pending', async () => {
    const watch = watchWrites();
    const w = world({ observe: watch.observe });
    const writer = w.replica({ relays: [w.urlFor(client('write'))] });
    const hw = await writer.open('ws/n1');
    hw.doc.getText('body').insert(0, 'from the owner');
    await writer.whenAcked();
    expect(watch.writers.has(hw.doc.clientID)).toBe(true);

    const reader = w.replica({ relays: [w.urlFor(client('read'))] });
    const hr = await reader.open('ws/n1');
    await reader.whenSynced();
    expect(reader.access.role).toBe('read');
    expect(body(hr)).toBe('from the owner');

    hr.doc.getText('body').insert(0, 'sneaky ');
    await eventually(() => reader.status.pendingLocal, 'read-only edit pending');
    hw.doc.getText('body').insert(0, 'still live: ');
    // Both inserted at 0: the order of the two is Yjs's (by client id), so only containment is certain.
    await eventually(() => body(hr).includes('still live: '), 'later writes arrive');
    await sleep(100);

    // Nothing the reader made left it: not on the wire, not on the relay, not at the writer.
    expect(watch.writers.has(hr.doc.clientID)).toBe(false);
    expect(body(hw)).toBe('still live: from the owner');
    expect(await relayText(w, 'ws/n1')).toBe('still live: from the owner');
    expect(reader.status.pendingLocal).toBe(true);
    expect(w.errors.filter((e) => /read-only/.test(e.message))).toEqual([]);
  });

  it('sends pending read-only edits once setRelays brings a write token', async () => {
    const w = world();
    const reader = w.replica({ relays: [w.urlFor(client('read'))] });
    const hr = await reader.open('ws/n2');
    await reader.whenSynced();
    hr.doc.getText('body').insert(0, 'kept here');
    await sleep(50);
    expect(await relayText(w, 'ws/n2')).toBe('');
    reader.setRelays([w.urlFor(client('write'))]);
    await reader.whenAcked();
    expect(reader.access.role).toBe('write');
    expect(await relayText(w, 'ws/n2')).toBe('kept here');
  });

  for (const [code, problem] of [
    [CloseCode.Unauthorized, 'unauthorized'],
    [CloseCode.Forbidden, 'forbidden'],
    [CloseCode.TokenExpired, 'expired'],
  ] as const) {
    it(`close ${code} sets problem ${problem} and stops reconnecting until new URLs`, async () => {
      const w = world();
      const refused = w.refusingUrl(code, `refused with ${code}`);
      const r = w.replica({ relays: [refused] });
      const changes: ReplicaAccess[] = [];
      r.onAccessChange((a) => changes.push(a));
      const h = await r.open('ws/n3');
      h.doc.getText('body').insert(0, 'offline edit');
      await eventually(() => r.access.problem !== null, 'refusal noticed');
      expect(r.access).toEqual({ role: null, problem, reason: `refused with ${code}` });
      const attempts = w.network.transports.length;
      r.reconnect();
      await sleep(200); // many backoff periods (5–50 ms)
      expect(w.network.transports.length).toBe(attempts);
      expect(r.status.state).toBe('offline');

      // The same list again changes nothing; a new token clears the problem and syncs.
      r.setRelays([refused]);
      await sleep(50);
      expect(w.network.transports.length).toBe(attempts);
      expect(r.access.problem).toBe(problem);
      r.setRelays([w.urlFor(client('write'))]);
      expect(r.access.problem).toBeNull();
      await r.whenAcked();
      expect(await relayText(w, 'ws/n3')).toBe('offline edit');
      expect(changes.map((c) => c.problem)).toEqual([problem, null, null]);
      expect(r.access.role).toBe('write');
    });
  }

  it('a revoked live session is told forbidden and does not come back', async () => {
    const w = world();
    const r = w.replica({ relays: [w.urlFor(client('write', 'ws', 'grant-1'))] });
    await r.open('ws');
    await r.whenSynced();
    const closed = w.relay.closeSessions(
      (a) => a.kind === 'client' && a.grantId === 'grant-1',
      CloseCode.Forbidden,
      'access revoked',
    );
    expect(closed).toBe(1);
    await eventually(() => r.access.problem === 'forbidden', 'revocation noticed');
    expect(r.access.reason).toBe('access revoked');
    const attempts = w.network.transports.length;
    await sleep(200);
    expect(w.network.transports.length).toBe(attempts);
  });

  it('DocError(Forbidden) refuses the doc and sets problem forbidden', async () => {
    const w = world();
    // A token for another workspace: the relay refuses each of this workspace's docs.
    const r = w.replica({ relays: [w.urlFor(client('owner', 'other'))] });
    await r.open('ws');
    await eventually(() => r.access.problem === 'forbidden', 'forbidden doc noticed');
    expect(r.docStatus('ws').state).toBe('offline');
    expect(w.errors.some((e) => /refused doc ws/.test(e.message))).toBe(true);
  });

  it('DocError(ReadOnly) switches to read-only and keeps the doc subscribed', async () => {
    const w = world();
    let relaySide: { send(frame: Uint8Array): void } | null = null;
    w.network.addAcceptor('memory://spy/sync', (conn) => {
      relaySide = conn;
      return w.relay.acceptMultiplexed(conn);
    });
    const r = w.replica({ relays: ['memory://spy/sync'] });
    const h = await r.open('ws/n4');
    await r.whenSynced();
    expect(r.access.role).toBe('full');
    relaySide!.send(encodeDocError('ws/n4', DocErrorCode.ReadOnly, 'read-only token'));
    await eventually(() => r.access.role === 'read', 'read-only noticed');
    expect(w.errors.some((e) => /read-only/.test(e.message))).toBe(true);
    h.doc.getText('body').insert(0, 'not sent');
    await sleep(50);
    expect(await relayText(w, 'ws/n4')).toBe('');
    expect(r.status.pendingLocal).toBe(true);
    expect(r.access.problem).toBeNull();
  });
});

describe('Replica access over y-websocket', () => {
  it('keeps the token query after the doc path and stops on 4401', async () => {
    const urls: string[] = [];
    let refuse = true;
    const w = world();
    const r = new Replica({
      storage: new MemoryStorage(),
      relays: [{ url: 'ws://server/ws?token=abc', protocol: 'y-websocket' }],
      heartbeatIntervalMs: 50,
      heartbeatTimeoutMs: 300,
      backoff: { baseMs: 5, maxMs: 50 },
      onError: () => {},
      transportFactory: (url): Transport => {
        urls.push(url);
        return new MemoryTransport((conn) => {
          if (refuse) {
            queueMicrotask(() => conn.close(CloseCode.Unauthorized, 'bad token'));
            return { receive: () => {}, closed: () => {} };
          }
          const doc = decodeURIComponent(new URL(url).pathname.replace(/^\/ws\//, ''));
          return w.relay.acceptYWebsocket(conn, doc);
        });
      },
    });
    extras.push(r);
    await r.open('ws/n5');
    await eventually(() => r.access.problem === 'unauthorized', 'refusal noticed');
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every((u) => u === 'ws://server/ws/ws/n5?token=abc')).toBe(true);
    const attempts = urls.length;
    await sleep(200);
    expect(urls.length).toBe(attempts);

    refuse = false;
    r.setRelays([{ url: 'ws://server/ws?token=def', protocol: 'y-websocket' }]);
    expect(r.access.problem).toBeNull();
    await eventually(() => urls.includes('ws://server/ws/ws/n5?token=def'), 'reconnected');
  });
});
