/** Test harnesses for the relay app. */

export { MuxWsClient, type SocketClose } from './MuxWsClient.ts';
export {
  FrameTally,
  NodeWebSocket,
  type TalliedFrame,
  wsTransportFactory,
} from './wsTransports.ts';
