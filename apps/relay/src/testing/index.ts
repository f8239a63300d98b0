/** Test harnesses for the relay app. */

export { MuxWsClient, type SocketClose } from './MuxWsClient.ts';
export { type PromSample, type PromScrape, parsePromText } from './promText.ts';
export {
  type LiveMemory,
  procCpuSeconds,
  procRssBytes,
  type RelayExit,
  SpawnedRelay,
  type SpawnRelayOptions,
} from './SpawnedRelay.ts';
export {
  relayStateArrived,
  type StormEdit,
  WriteStorm,
  type WriteStormOptions,
} from './WriteStorm.ts';
export {
  FrameTally,
  NodeWebSocket,
  type TalliedFrame,
  tapTransport,
  wsTransportFactory,
} from './wsTransports.ts';
