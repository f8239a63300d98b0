import { expect, it } from 'vitest';
import * as Y from 'yjs';
import type { StoredDoc } from '../ports.ts';
import {
  encodeDoc,
  encodeHello,
  encodeSyncStep1,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { RelayCore } from './RelayCore.ts';
import { RecordingConnection } from './testing/index.ts';

/** Storage whose loads wait until `open()`: frames queue up meanwhile. */
class GatedStorage extends MemoryStorage {
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => {
    this.#open = resolve;
  });

  open(): void {
    this.#open();
  }

  override async load(docName: string): Promise<StoredDoc> {
    await this.#gate;
    return super.load(docName);
  }
}

class PausableConnection extends RecordingConnection {
  readonly calls: string[] = [];
  pause(): void {
    this.calls.push('pause');
  }
  resume(): void {
    this.calls.push('resume');
  }
}

it('stops reading a socket whose frames queue up, and reads again once they drain', async () => {
  const storage = new GatedStorage();
  const core = new RelayCore({ storage, relayId: 'r', commitWindowMs: 1, heartbeatIntervalMs: 0 });
  const conn = new PausableConnection();
  const handler = core.acceptMultiplexed(conn);
  handler.receive(
    encodeHello({ protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, role: 'client' }),
  );
  const step1 = encodeSyncStep1(Y.encodeStateVector(new Y.Doc()));
  for (let seq = 1; seq <= 300; seq++) handler.receive(encodeDoc('w/slow', step1, seq));
  // The room is still loading: the queue passed its high-water mark once.
  expect(conn.calls).toEqual(['pause']);
  storage.open();
  await conn.waitFor(() => (conn.calls.length === 2 ? true : undefined));
  expect(conn.calls).toEqual(['pause', 'resume']);
  expect(conn.closedWith).toBeUndefined();
  await core.close();
});
