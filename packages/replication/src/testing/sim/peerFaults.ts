import {
  decodeFrame,
  decodeYMessage,
  encodeDocs,
  encodeSyncUpdate,
  FrameType,
  SyncStep,
  YMessageType,
} from '../../protocol.ts';

/** A Yjs update that changes nothing (no structs, empty delete set). */
const EMPTY_UPDATE = new Uint8Array([0, 0]);

/**
 * A `SimulationOptions.peerFrames` fault: the relay never pushes. Every sync
 * `Update` message in a `Docs` frame it sends to a peer is replaced by an
 * empty update (same doc, same seq, so the peer still acks and nothing else
 * notices); anti-entropy (`SyncStep1`/`SyncStep2`) passes untouched. A
 * simulation with this fault and no periodic anti-entropy must fail seeds:
 * it shows the checks notice when gossip does not carry updates.
 */
export function withoutPushes(frame: Uint8Array): Uint8Array {
  if (frame[0] !== FrameType.Docs) return frame;
  const decoded = decodeFrame(frame);
  if (decoded.type !== FrameType.Docs) return frame;
  let changed = false;
  const messages = decoded.messages.map((m) => {
    const y = decodeYMessage(m.message);
    if (y.type !== YMessageType.Sync || y.step !== SyncStep.Update) return m;
    changed = true;
    return { ...m, message: encodeSyncUpdate(EMPTY_UPDATE) };
  });
  return changed ? encodeDocs(messages) : frame;
}
