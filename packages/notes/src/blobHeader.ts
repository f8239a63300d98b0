import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/**
 * The header of an index blob kept in storage meta (search index, link
 * index): its format version and the workspace it belongs to, so a blob of
 * another version or copied from another workspace is refused, not misread.
 */
export function writeBlobHeader(
  encoder: encoding.Encoder,
  version: number,
  workspaceId: string,
): void {
  encoding.writeVarUint(encoder, version);
  encoding.writeVarString(encoder, workspaceId);
}

/** Reads what `writeBlobHeader` wrote; throws an `Error` naming the mismatch. */
export function readBlobHeader(
  decoder: decoding.Decoder,
  version: number,
  workspaceId: string,
): void {
  const found = decoding.readVarUint(decoder);
  if (found !== version) throw new Error(`format version ${found}, expected ${version}`);
  const owner = decoding.readVarString(decoder);
  if (owner !== workspaceId) throw new Error(`belongs to workspace ${JSON.stringify(owner)}`);
}
