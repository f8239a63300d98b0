import type { NoteStore } from '@lattice/notes';
import type { Replica } from '@lattice/replication';

declare global {
  interface Window {
    /** Test hook (Playwright): the open workspace, replaced on switch, undefined while none is open. */
    __lattice?: { replica: Replica; store: NoteStore; workspaceId: string };
  }
}
