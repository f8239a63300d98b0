import type {
  CrashInfo,
  DocState,
  ReplicaNode,
  SimView,
  SimWorkload,
} from '@lattice/replication/testing';
import { describeDoc, rangeDeleted, readStoredDoc, sameState } from '@lattice/replication/testing';
import * as prng from 'lib0/prng';
import * as Y from 'yjs';
import { noteDocName } from '../ids.ts';
import { BODY_TEXT, NOTES_MAP, readEntry } from '../indexEntry.ts';
import { type NoteHandle, NoteStore } from '../NoteStore.ts';

/** The one workspace every replica of the simulation shares. */
export const SIM_WORKSPACE = 'ws';

/**
 * Why an edit must survive. `alive`: its replica never died; `disk`: it was
 * on its device's disk at a crash; `acked`: its replica counted it as acked
 * by a relay when it died; `none`: it may be lost (then it must be lost
 * everywhere, which the convergence check covers).
 */
type Evidence = 'alive' | 'disk' | 'acked' | 'none';

/** Where an edit's structs live: `len` clocks of `client` from `clock` in doc `docName`. */
interface Span {
  docName: string;
  client: number;
  clock: number;
  len: number;
}

/** One local change, with who made it and why it must (or may not) survive. */
interface Edit {
  kind: 'insert' | 'delete' | 'create' | 'trash' | 'restore';
  seat: string;
  device: number;
  incarnation: number;
  at: number;
  evidence: Evidence;
  /** Structs the change wrote (inserts, creations and trash flags; not deletions). */
  span: Span | null;
  /** Tokens: the token inserted or deleted. */
  token?: string;
  noteId: string;
  /** Trash/restore: the `trashedAt` value written. */
  value?: number | null;
}

interface Session {
  node: ReplicaNode;
  store: NoteStore;
  open: NoteHandle | null;
}

const TOKEN = /\[[a-z0-9.]+\]/g;

/**
 * The simulation workload of the notes app: on each replica a `NoteStore`
 * over the replica; users create, trash and restore notes and type unique
 * tokens (`[r1.17]`) into note bodies, at token boundaries, and delete
 * whole tokens. Bookkeeping records the structs of every change so the end
 * of the run can tell lost, duplicated and wrongly present tokens apart.
 */
export class NotesWorkload implements SimWorkload {
  #sessions = new Map<string, Session>();
  #edits: Edit[] = [];
  #tokenCount = 0;
  #noteCount = 0;
  #sim: SimView | null = null;
  #found = {
    lost: 0,
    duplicated: 0,
    resurrected: 0,
    orphaned: 0,
    unreachable: 0,
    present: 0,
    required: 0,
  };

  async attach(node: ReplicaNode, sim: SimView): Promise<void> {
    this.#sim = sim;
    const store = await NoteStore.open({
      workspaceId: SIM_WORKSPACE,
      source: node.replica!,
      now: () => sim.now(),
    });
    this.#sessions.set(node.name, { node, store, open: null });
  }

  detach(node: ReplicaNode, _how: 'crash' | 'shutdown'): void {
    const session = this.#sessions.get(node.name);
    if (session === undefined) return;
    this.#sessions.delete(node.name);
    session.open?.release();
    session.store.close();
  }

  async crashed(node: ReplicaNode, info: CrashInfo): Promise<void> {
    const sim = this.#sim!;
    const states = new Map<string, DocState>();
    const stored = async (docName: string) => {
      let state = states.get(docName);
      if (state === undefined) {
        state = await readStoredDoc(info.disk, docName);
        state.doc.destroy();
        states.set(docName, state);
      }
      return state;
    };
    const acked = (edit: Edit) => !info.pendingLocal(docOf(edit)) && !sim.wipedSince(edit.at);
    for (const edit of this.#edits) {
      if (edit.seat !== node.name || edit.device !== info.device) continue;
      if (info.kind === 'device-lost') {
        // The disk is gone: only what a relay acknowledged still counts.
        if (edit.evidence === 'alive' || edit.evidence === 'disk') {
          edit.evidence = acked(edit) ? 'acked' : 'none';
        }
        continue;
      }
      if (edit.incarnation !== info.incarnation || edit.evidence !== 'alive') continue;
      const onDisk = await this.#isOnDisk(edit, stored);
      edit.evidence = onDisk ? 'disk' : acked(edit) ? 'acked' : 'none';
    }
  }

  async #isOnDisk(edit: Edit, stored: (docName: string) => Promise<DocState>): Promise<boolean> {
    if (edit.kind === 'delete') {
      const insert = this.#insertOf(edit.token!);
      if (insert?.span == null) return false;
      const state = await stored(insert.span.docName);
      return rangeDeleted(state.deleteSet, insert.span.client, insert.span.clock, insert.span.len);
    }
    const span = edit.span;
    // Structs not located (a body whose doc had more writers by then): never counted as on disk.
    if (span === null) return false;
    const state = await stored(span.docName);
    return (state.stateVector.get(span.client) ?? 0) >= span.clock + span.len;
  }

  async act(node: ReplicaNode, random: prng.PRNG): Promise<string> {
    const session = this.#sessions.get(node.name)!;
    const { store } = session;
    const notes = [...store.list(), ...store.list({ trashed: true })];
    if (notes.length === 0) return this.#create(session, random);
    const roll = prng.real53(random);
    if (roll < 0.12) return this.#create(session, random);
    if (roll < 0.19) {
      const active = store.list();
      if (active.length === 0) return this.#create(session, random);
      return this.#setTrash(session, prng.oneOf(random, active).id, true);
    }
    if (roll < 0.25) {
      const trashed = store.list({ trashed: true });
      if (trashed.length === 0) return this.#create(session, random);
      return this.#setTrash(session, prng.oneOf(random, trashed).id, false);
    }
    // Editing happens in an open note, as in the editor; now and then the user switches.
    let handle = session.open;
    if (handle === null || roll < 0.32 || store.get(handle.id) === undefined) {
      session.open?.release();
      session.open = null;
      handle = await store.openNote(prng.oneOf(random, notes).id);
      session.open = handle;
    }
    const text = handle.body.toString();
    const tokens = text.match(TOKEN) ?? [];
    if (tokens.length > 0 && roll >= 0.8) {
      return this.#deleteToken(session, handle, prng.oneOf(random, tokens));
    }
    const boundaries = [0];
    for (let i = 1; i <= text.length; i++) if (text[i - 1] === ']') boundaries.push(i);
    return this.#insertToken(session, handle, prng.oneOf(random, boundaries));
  }

  #newToken(session: Session): string {
    return `[${session.node.name}.${++this.#tokenCount}]`;
  }

  #insertToken(session: Session, handle: NoteHandle, at: number): string {
    const token = this.#newToken(session);
    const span = this.#spanOf(handle.doc, handle.docName, () => handle.body.insert(at, token));
    this.#record(session, { kind: 'insert', span, token, noteId: handle.id });
    return `types ${token} at ${at} in ${handle.id}`;
  }

  #deleteToken(session: Session, handle: NoteHandle, token: string): string {
    const index = handle.body.toString().indexOf(token);
    handle.body.delete(index, token.length);
    this.#record(session, { kind: 'delete', span: null, token, noteId: handle.id });
    return `deletes ${token} in ${handle.id}`;
  }

  async #create(session: Session, random: prng.PRNG): Promise<string> {
    const { store } = session;
    // Some notes start with a body, so their index entry carries a dependency vector.
    const body = prng.real53(random) < 0.25 ? this.#newToken(session) : '';
    const client = store.indexDoc.clientID;
    const clock = Y.getState(store.indexDoc.store, client);
    const id = await store.create({ title: `note ${++this.#noteCount}`, body });
    const len = Y.getState(store.indexDoc.store, client) - clock;
    if (len === 0) throw new Error(`creating note ${id} wrote nothing into the index doc`);
    this.#record(session, {
      kind: 'create',
      span: { docName: SIM_WORKSPACE, client, clock, len },
      noteId: id,
    });
    if (body === '') return `creates note ${id}`;
    // The body went in through a doc NoteStore opened; its structs are the new doc's only ones.
    session.open?.release();
    session.open = null;
    const handle = await store.openNote(id);
    session.open = handle;
    const structs = [...Y.decodeStateVector(Y.encodeStateVector(handle.doc))];
    const [only] = structs;
    const span =
      structs.length === 1 && only !== undefined && only[1] === body.length
        ? { docName: handle.docName, client: only[0], clock: 0, len: body.length }
        : null;
    this.#record(session, { kind: 'insert', span, token: body, noteId: id });
    return `creates note ${id} with ${body}`;
  }

  #setTrash(session: Session, id: string, trash: boolean): string {
    const { store } = session;
    const span = this.#spanOf(store.indexDoc, SIM_WORKSPACE, () => {
      if (trash) store.trash(id);
      else store.restore(id);
    });
    const value = store.get(id)?.trashedAt ?? null;
    this.#record(session, { kind: trash ? 'trash' : 'restore', span, noteId: id, value });
    return `${trash ? 'trashes' : 'restores'} ${id}`;
  }

  /** Runs `change` on `doc` and returns the clocks it wrote under the doc's client id. */
  #spanOf(doc: Y.Doc, docName: string, change: () => void): Span {
    const client = doc.clientID;
    const clock = Y.getState(doc.store, client);
    change();
    const len = Y.getState(doc.store, client) - clock;
    // Bookkeeping that recorded nothing would make every check of this edit pass.
    if (len === 0) throw new Error(`an edit of ${docName} wrote no structs`);
    return { docName, client, clock, len };
  }

  #record(
    session: Session,
    edit: Omit<Edit, 'seat' | 'device' | 'incarnation' | 'at' | 'evidence'>,
  ) {
    const { node } = session;
    this.#edits.push({
      ...edit,
      seat: node.name,
      device: node.device,
      incarnation: node.incarnation,
      at: this.#sim!.now(),
      evidence: 'alive',
    });
  }

  flush(node: ReplicaNode): void {
    this.#sessions.get(node.name)?.store.flush();
  }

  async checkLive(_sim: SimView): Promise<string[]> {
    const problems: string[] = [];
    let reference: { label: string; notes: string } | null = null;
    for (const { node, store, open } of this.#sessions.values()) {
      const label = node.label;
      const listed = [...store.list(), ...store.list({ trashed: true })];
      const notes = JSON.stringify(
        listed
          .map((n) => [n.id, n.title, n.trashedAt])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      reference ??= { label, notes };
      if (notes !== reference.notes) {
        problems.push(`${label} lists ${notes}, ${reference.label} lists ${reference.notes}`);
      }
      for (const note of listed) {
        const entry = readEntry(store.indexDoc.getMap(NOTES_MAP).get(note.id));
        if (entry?.trashedAt !== note.trashedAt) {
          problems.push(
            `${label} lists ${note.id} with trashedAt ${note.trashedAt}, index says ${entry?.trashedAt}`,
          );
        }
        if ('arriving' in note && note.arriving === true) {
          problems.push(`${label} still shows ${note.id} as arriving after quiescence`);
        }
      }
      const live = describeDoc(store.indexDoc);
      const stored = await readStoredDoc(node.disk, SIM_WORKSPACE);
      stored.doc.destroy();
      if (!sameState(live, stored)) problems.push(`${label}: live index doc differs from its disk`);
      if (open !== null && store.get(open.id) !== undefined) {
        const disk = await readStoredDoc(node.disk, open.docName);
        const text = disk.doc.getText(BODY_TEXT).toString();
        disk.doc.destroy();
        if (text !== open.body.toString()) {
          problems.push(`${label}: open note ${open.id} shows "${open.body}", its disk "${text}"`);
        }
      }
    }
    return problems;
  }

  async docNames(final: (docName: string) => Promise<DocState>): Promise<string[]> {
    const index = await final(SIM_WORKSPACE);
    const ids = [...index.doc.getMap(NOTES_MAP).keys()];
    index.doc.destroy();
    return [SIM_WORKSPACE, ...ids.sort().map((id) => noteDocName(SIM_WORKSPACE, id))];
  }

  async check(sim: SimView, final: (docName: string) => Promise<DocState>): Promise<string[]> {
    const problems: string[] = [];
    const index = await final(SIM_WORKSPACE);
    const notesMap = index.doc.getMap(NOTES_MAP);
    const required = (edit: Edit): boolean => {
      if (edit.evidence === 'alive' || edit.evidence === 'disk') return true;
      if (edit.evidence === 'acked' && !sim.wipedSince(edit.at)) return true;
      if (edit.span === null) return false;
      const acked = sim.ackedVector(edit.span.docName).get(edit.span.client) ?? 0;
      return acked >= edit.span.clock + edit.span.len;
    };
    const finalStates = new Map<string, DocState>();
    const stateOf = async (docName: string) => {
      let state = finalStates.get(docName);
      if (state === undefined) {
        state = await final(docName);
        finalStates.set(docName, state);
      }
      return state;
    };
    const covered = async (span: Span) =>
      ((await stateOf(span.docName)).stateVector.get(span.client) ?? 0) >= span.clock + span.len;

    // Notes: every note whose creation must survive is in the index, with its structs.
    for (const edit of this.#edits) {
      if (edit.kind === 'create' && required(edit) && !notesMap.has(edit.noteId)) {
        problems.push(`note ${edit.noteId} created by ${edit.seat} (${edit.evidence}) is gone`);
      }
      if (edit.span !== null && required(edit) && !(await covered(edit.span))) {
        problems.push(
          `${edit.kind} ${edit.token ?? edit.noteId} by ${edit.seat} (${edit.evidence}) lost its structs`,
        );
      }
    }
    // Trash state: a value some replica wrote (or the initial null), the same everywhere.
    for (const [id, value] of notesMap) {
      const trashedAt = readEntry(value)?.trashedAt ?? null;
      const written = this.#edits.filter(
        (e) => e.noteId === id && (e.kind === 'trash' || e.kind === 'restore'),
      );
      if (trashedAt !== null && !written.some((e) => e.value === trashedAt)) {
        problems.push(`note ${id} has trashedAt ${trashedAt}, which no replica wrote`);
      }
    }
    // Tokens: read every body, count occurrences, and check each insert and delete.
    const counts = new Map<string, number>();
    for (const id of notesMap.keys()) {
      const state = await stateOf(noteDocName(SIM_WORKSPACE, id));
      const text = state.doc.getText(BODY_TEXT).toString();
      const tokens = text.match(TOKEN) ?? [];
      if (tokens.join('') !== text)
        problems.push(`note ${id} holds text that is not whole tokens: "${text}"`);
      for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    const deletes = new Map<string, Edit[]>();
    for (const e of this.#edits) {
      if (e.kind === 'delete') deletes.set(e.token!, [...(deletes.get(e.token!) ?? []), e]);
    }
    for (const edit of this.#edits) {
      if (edit.kind !== 'insert') continue;
      const token = edit.token!;
      const n = counts.get(token) ?? 0;
      if (n > 0) this.#found.present++;
      if (n > 1) {
        this.#found.duplicated++;
        problems.push(`token ${token} appears ${n} times`);
      }
      if (!notesMap.has(edit.noteId)) {
        // Its note never became durable (the crash took the index entry): nothing to show it in.
        this.#found.orphaned++;
        // Typed text that was durable although its note was not: stored, but no list shows it.
        if (required(edit)) this.#found.unreachable++;
        continue;
      }
      const mustStay = required(edit);
      if (mustStay) this.#found.required++;
      const deletedBy = deletes.get(token) ?? [];
      if (mustStay && n === 0 && deletedBy.length === 0) {
        this.#found.lost++;
        problems.push(`token ${token} typed by ${edit.seat} (${edit.evidence}) is lost`);
      }
      if (n > 0 && deletedBy.some(required)) {
        this.#found.resurrected++;
        problems.push(`token ${token} was deleted (durably) but is present`);
      }
    }
    for (const token of counts.keys()) {
      if (this.#insertOf(token) === undefined) problems.push(`token ${token} was never typed`);
    }
    for (const state of finalStates.values()) state.doc.destroy();
    index.doc.destroy();
    return problems;
  }

  #insertOf(token: string): Edit | undefined {
    return this.#edits.find((e) => e.kind === 'insert' && e.token === token);
  }

  summary(): string {
    const kinds = new Map<string, number>();
    for (const e of this.#edits) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    const evidence = new Map<Evidence, number>();
    for (const e of this.#edits) evidence.set(e.evidence, (evidence.get(e.evidence) ?? 0) + 1);
    const f = this.#found;
    return (
      `edits: ${[...kinds].map(([k, n]) => `${k}=${n}`).join(' ')} | ` +
      `kept because: ${[...evidence].map(([k, n]) => `${k}=${n}`).join(' ')} | ` +
      `tokens: present=${f.present} required=${f.required} lost=${f.lost} duplicated=${f.duplicated} ` +
      `resurrected=${f.resurrected} orphaned=${f.orphaned} unreachable=${f.unreachable}`
    );
  }
}

function docOf(edit: Edit): string {
  return edit.span?.docName ?? noteDocName(SIM_WORKSPACE, edit.noteId);
}
