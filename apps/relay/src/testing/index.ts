/** Test harnesses for the relay app. */

export { MuxWsClient, type SocketClose } from './MuxWsClient.ts';
