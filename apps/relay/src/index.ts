/**
 * @lattice/relay — the Node relay: HTTP (web app, `/healthz`) and WebSocket
 * sync (`/sync`, `/ws/<docName>`) on one port, with LevelDB storage.
 */

import { type RelayOptions, RelayServer, type RunningRelay } from './RelayServer.ts';

export { LevelStorage, type LevelStorageOptions } from './LevelStorage.ts';
export type { RelayOptions, RunningRelay } from './RelayServer.ts';

/** Starts a relay in this process; resolves once it listens (see `RunningRelay.url`). */
export async function startRelay(options: RelayOptions): Promise<RunningRelay> {
  return RelayServer.start(options);
}
