import { isValidDocName } from '../protocol.ts';

/**
 * Why the relay refuses `name` as a room key, or `undefined` when it accepts
 * it. Beyond the protocol's rule, a name must survive the trip through a
 * `/ws/<docName>` URL unchanged: URL parsers collapse `.`/`..` segments, and
 * empty segments (`w1//n1`, `w1/`) name nothing in the workspace/note scheme.
 */
export function docNameProblem(name: string): string | undefined {
  if (!isValidDocName(name)) return 'doc name is empty, too long or has control characters';
  for (const segment of name.split('/')) {
    if (segment === '') return 'doc name has an empty path segment';
    if (segment === '.' || segment === '..') return 'doc name has a dot segment';
  }
  return undefined;
}
