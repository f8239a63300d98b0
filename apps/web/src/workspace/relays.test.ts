import { describe, expect, it } from 'vitest';
import { relayUrls } from './relays.ts';

describe('relayUrls', () => {
  it('uses the serving host, with wss on https', () => {
    expect(relayUrls({ protocol: 'http:', host: '127.0.0.1:5173', search: '' })).toEqual([
      'ws://127.0.0.1:5173/sync',
    ]);
    expect(relayUrls({ protocol: 'https:', host: 'notes.example', search: '?x=1' })).toEqual([
      'wss://notes.example/sync',
    ]);
  });

  it('lets ?relay= override the list, repeated or comma separated', () => {
    const search = '?relay=ws://a:1/sync,ws://b:2/sync&relay=wss://c/sync';
    expect(relayUrls({ protocol: 'http:', host: 'h', search })).toEqual([
      'ws://a:1/sync',
      'ws://b:2/sync',
      'wss://c/sync',
    ]);
  });

  it('treats an empty ?relay= as local only', () => {
    expect(relayUrls({ protocol: 'http:', host: 'h', search: '?relay=' })).toEqual([]);
  });

  it('rejects a relay that is not a WebSocket URL', () => {
    expect(() =>
      relayUrls({ protocol: 'http:', host: 'h', search: '?relay=http://a/sync' }),
    ).toThrow(/ws:\/\/ or wss:\/\//);
  });
});
