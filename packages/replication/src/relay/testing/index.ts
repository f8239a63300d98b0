/** Test harnesses for the relay core. */

export { GossipNet, type GossipRelay, type GossipRelayOptions } from './GossipNet.ts';
export { RawClient } from './RawClient.ts';
export { type RecordedClose, RecordingConnection } from './RecordingConnection.ts';
