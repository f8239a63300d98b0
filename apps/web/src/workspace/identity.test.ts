import { describe, expect, it } from 'vitest';
import { memoryKeyValueStorage } from '../testing/index.ts';
import {
  awarenessUser,
  IDENTITY_KEY,
  isHexColor,
  loadIdentity,
  MAX_NAME_LENGTH,
  saveIdentity,
} from './identity.ts';

describe('identity', () => {
  it('creates, stores and then keeps a first-visit identity', () => {
    const storage = memoryKeyValueStorage();
    const first = loadIdentity(storage, () => 0.5);
    expect(first.name).toMatch(/^Anonymous \w+$/);
    expect(isHexColor(first.color)).toBe(true);
    expect(loadIdentity(storage, () => 0)).toEqual(first);
  });

  it('replaces an unreadable or invalid stored identity', () => {
    for (const raw of [
      'nope',
      '{"name":"A","color":"red"}',
      'null',
      '{"name":3,"color":"#000000"}',
    ]) {
      const storage = memoryKeyValueStorage({ [IDENTITY_KEY]: raw });
      const identity = loadIdentity(storage, () => 0);
      expect(isHexColor(identity.color), raw).toBe(true);
      expect(JSON.parse(storage.entries.get(IDENTITY_KEY) ?? '')).toEqual(identity);
    }
  });

  it('saves a valid identity, cutting long names', () => {
    const storage = memoryKeyValueStorage();
    const saved = saveIdentity(storage, { name: 'x'.repeat(100), color: '#AABBCC' });
    expect(saved).toEqual({ name: 'x'.repeat(MAX_NAME_LENGTH), color: '#aabbcc' });
    expect(loadIdentity(storage)).toEqual(saved);
  });

  it('rejects a colour that is not #rrggbb and keeps the old one', () => {
    const storage = memoryKeyValueStorage();
    saveIdentity(storage, { name: 'Ada', color: '#112233' });
    expect(() => saveIdentity(storage, { name: 'Ada', color: 'blue' })).toThrow(/#rrggbb/);
    expect(loadIdentity(storage).color).toBe('#112233');
  });

  it('builds the awareness user with a translucent selection colour', () => {
    expect(awarenessUser({ name: ' Ada ', color: '#112233' })).toEqual({
      name: 'Ada',
      color: '#112233',
      colorLight: '#11223333',
    });
    expect(awarenessUser({ name: '  ', color: '#112233' }).name).toBe('Anonymous');
  });
});
