import { type DocMessage, decodeFrame, FrameType } from '../protocol.ts';

/**
 * The doc messages of a `Docs` frame, for frame observers in tests: none for
 * any other frame type, nor for bytes that do not decode (observers see every
 * frame, and only doc traffic interests them).
 */
export function docMessagesIn(frame: Uint8Array): readonly Required<DocMessage>[] {
  let decoded: ReturnType<typeof decodeFrame>;
  try {
    decoded = decodeFrame(frame);
  } catch {
    return [];
  }
  return decoded.type === FrameType.Docs ? decoded.messages : [];
}
