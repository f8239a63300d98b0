import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CloseCode } from '../protocol.ts';
import {
  checkAwarenessUpdate,
  checkUpdate,
  encodeAwarenessEntries,
  takeCheckedAppendShape,
  UpdateRejectedError,
} from './updateGuard.ts';

function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** A v1 update built by hand: `body` writes the client sections and delete set. */
function craft(body: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  body(e);
  return encoding.toUint8Array(e);
}

function rejected(update: Uint8Array): UpdateRejectedError {
  try {
    checkUpdate(update);
  } catch (err) {
    expect(err).toBeInstanceOf(UpdateRejectedError);
    expect((err as UpdateRejectedError).closeCode).toBe(CloseCode.UpdateRejected);
    return err as UpdateRejectedError;
  }
  throw new Error(`update ${Buffer.from(update).toString('hex')} passed the guard`);
}

/** One root-level string item of client 1 at clock 0 in root type `t`, then `rest`. */
function oneItem(e: encoding.Encoder, info: number, content: (e: encoding.Encoder) => void): void {
  encoding.writeVarUint(e, 1); // clients
  encoding.writeVarUint(e, 1); // structs
  encoding.writeVarUint(e, 1); // client
  encoding.writeVarUint(e, 0); // clock
  encoding.writeUint8(e, info);
  encoding.writeVarUint(e, 1); // parent is a root type…
  encoding.writeVarString(e, 't'); // …named t
  content(e);
}

describe('checkUpdate', () => {
  it('passes whatever Yjs makes of concurrent editing: updates, merges of any of them, diffs (property)', () => {
    const op = fc.record({
      doc: fc.nat(2),
      kind: fc.constantFrom('insert', 'delete', 'sync'),
      at: fc.nat(40),
      text: fc.string({ minLength: 1, maxLength: 4 }),
      other: fc.nat(2),
    });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (ops, picks) => {
          const docs = [0, 1, 2].map((i) => {
            const doc = new Y.Doc();
            doc.clientID = 10 + i;
            return doc;
          });
          const updates: Uint8Array[] = [];
          for (const doc of docs) doc.on('update', (u: Uint8Array) => updates.push(u));
          for (const { doc: i, kind, at, text, other } of ops) {
            const doc = docs[i] as Y.Doc;
            const t = doc.getText('t');
            if (kind === 'insert') t.insert(at % (t.length + 1), text);
            else if (kind === 'delete' && t.length > 0) t.delete(at % t.length, 1);
            else if (kind === 'sync') {
              const to = docs[other] as Y.Doc;
              Y.applyUpdate(to, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(to)));
            }
          }
          for (const u of updates) checkUpdate(u);
          // Merges of any subset (gaps make skips), and diffs against any doc's vector.
          const subset = picks.map((p) => updates[p % Math.max(1, updates.length)]);
          const some = subset.filter((u): u is Uint8Array => u !== undefined);
          if (some.length > 0) checkUpdate(Y.mergeUpdates(some));
          for (const doc of docs) {
            checkUpdate(Y.encodeStateAsUpdate(doc));
            for (const other of docs) {
              checkUpdate(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other)));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('passes every kind of update real Yjs docs produce', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    text.insert(0, 'hello wörld 👋');
    text.format(0, 3, { bold: true });
    text.insertEmbed(2, { image: 'x.png' });
    doc.getMap('m').set('any', { deep: [1, 2.5, 2n ** 40n, 'x', null, true, new Uint8Array([1])] });
    doc.getMap('m').set('bin', new Uint8Array([1, 2]));
    doc.getMap('m').set('nested', new Y.Map());
    doc.getArray('a').insert(0, [1, 'two', { three: 3 }, null]);
    const xml = doc.getXmlFragment('x');
    xml.insert(0, [
      new Y.XmlElement('p'),
      new Y.XmlText('hi'),
      new Y.XmlHook('hook') as unknown as Y.XmlElement,
    ]);
    text.delete(1, 3);
    doc.getArray('a').delete(0, 2);
    const update = Y.encodeStateAsUpdate(doc);
    const summary = checkUpdate(update);
    expect(summary.clients).toBe(1);
    expect(summary.deleteRanges).toBeGreaterThan(0);
    // Incremental updates and the empty doc's state too.
    const other = new Y.Doc();
    const live: Uint8Array[] = [];
    other.on('update', (u: Uint8Array) => live.push(u));
    Y.applyUpdate(other, update);
    other.getText('t').insert(3, 'more');
    for (const u of live) checkUpdate(u);
    checkUpdate(Y.encodeStateAsUpdate(new Y.Doc()));
    // Legacy ContentJSON (written by old Yjs versions).
    checkUpdate(
      craft((e) =>
        oneItem(e, 2, (c) => {
          encoding.writeVarUint(c, 2);
          encoding.writeVarString(c, '{"a":1}');
          encoding.writeVarString(c, 'undefined');
          encoding.writeVarUint(c, 0); // empty delete set
        }),
      ),
    );
  });

  // yjs#498: a zero-length buffer made applyUpdate loop forever in readVarUint.
  it('rejects a zero-length update (yjs#498)', () => {
    expect(rejected(new Uint8Array()).message).toMatch(/empty update/);
  });

  // yjs#479: arbitrary bytes ("garbagedoc" in base64) hung Y.applyUpdate.
  it('rejects garbage bytes (yjs#479)', () => {
    rejected(new Uint8Array(Buffer.from('garbagedoc', 'base64')));
  });

  it('rejects truncated varints', () => {
    rejected(hex('ff'));
    rejected(hex('01ffffff'));
    const good = Y.encodeStateAsUpdate(docWithText('abc'));
    for (let cut = 1; cut < good.length; cut++) rejected(good.subarray(0, cut));
  });

  // yjs#687 (v1 paths): counts that allocate before the bytes exist.
  it('rejects struct and client counts the input cannot hold (yjs#687)', () => {
    // `new Array(numberOfStructs)` with 2^32-1 structs declared in 7 bytes.
    expect(rejected(hex('01ffffffff0f0100')).message).toMatch(/struct count/);
    expect(rejected(hex('ffffffff0f')).message).toMatch(/client count/);
    // A delete set declaring billions of ranges.
    expect(rejected(hex('0001' + '01' + 'ffffffff0f')).message).toMatch(/delete range count/);
    // An Any array / JSON list declaring billions of values.
    const anyBomb = craft((e) =>
      oneItem(e, 8, (c) => {
        encoding.writeVarUint(c, 0xffffffff);
        encoding.writeUint8(c, 126);
      }),
    );
    expect(rejected(anyBomb).message).toMatch(/any value count/);
    // A string declaring 2^32 bytes.
    rejected(craft((e) => oneItem(e, 4, (c) => encoding.writeVarUint(c, 0xffffffff))));
  });

  it('rejects clocks and lengths near the precision limit (yjs#687 clock overflow)', () => {
    const huge = craft((e) =>
      oneItem(e, 1, (c) => {
        encoding.writeVarUint(c, Number.MAX_SAFE_INTEGER); // ContentDeleted of 2^53 - 1
        encoding.writeVarUint(c, 0);
      }),
    );
    expect(rejected(huge).message).toMatch(/clock/);
    // GC then a second struct pushing the clock past the bound.
    const gcs = craft((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint(e, 7);
      encoding.writeVarUint(e, 2 ** 39);
      for (let i = 0; i < 2; i++) {
        encoding.writeUint8(e, 0);
        encoding.writeVarUint(e, 2 ** 39 + 1);
      }
      encoding.writeVarUint(e, 0);
    });
    rejected(gcs);
  });

  it('rejects zero-length structs, which Yjs never writes', () => {
    rejected(hex('0101070000' + '00')); // GC of length 0
    rejected(craft((e) => oneItem(e, 4, (c) => encoding.writeVarString(c, ''))));
  });

  it('rejects deeply nested values that would overflow the stack', () => {
    const depth = 100_000;
    const deep = craft((e) =>
      oneItem(e, 8, (c) => {
        encoding.writeVarUint(c, 1);
        for (let i = 0; i < depth; i++) {
          encoding.writeUint8(c, 117); // array of…
          encoding.writeVarUint(c, 1); // …one element
        }
        encoding.writeUint8(c, 126);
        encoding.writeVarUint(c, 0);
      }),
    );
    expect(rejected(deep).message).toMatch(/nested deeper/);
    // What the guard saves the relay from: Yjs recurses once per level.
    expect(() => Y.applyUpdate(new Y.Doc(), deep)).toThrow();
  });

  it('rejects subdocument and root-type bombs (a Y.Doc or a type per few bytes)', () => {
    const subdoc = craft((e) =>
      oneItem(e, 9, (c) => {
        encoding.writeVarString(c, 'guid');
        encoding.writeUint8(c, 118);
        encoding.writeVarUint(c, 0);
        encoding.writeVarUint(c, 0);
      }),
    );
    expect(rejected(subdoc).message).toMatch(/subdocuments/);
    expect(checkUpdate(subdoc, { maxSubdocs: 1 }).structs).toBe(1);
    const roots = craft((e) => {
      const n = 300;
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, n);
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 0);
      for (let i = 0; i < n; i++) {
        encoding.writeUint8(e, 7); // a type…
        encoding.writeVarUint(e, 1);
        encoding.writeVarString(e, `r${i}`); // …under a new root each time
        encoding.writeVarUint(e, 1); // YMap
      }
      encoding.writeVarUint(e, 0);
    });
    expect(rejected(roots).message).toMatch(/root types/);
  });

  it('rejects bad JSON, unknown kinds and type refs, trailing bytes and duplicated clients', () => {
    rejected(craft((e) => oneItem(e, 5, (c) => encoding.writeVarString(c, '{not json'))));
    rejected(craft((e) => oneItem(e, 11, () => {})));
    rejected(craft((e) => oneItem(e, 7, (c) => encoding.writeVarUint(c, 7))));
    rejected(new Uint8Array([...Y.encodeStateAsUpdate(docWithText('x')), 0]));
    rejected(hex('02' + '0101000401017401610' + '0' + '0101000401017401610' + '000'));
  });

  // The reason to check before applying: Yjs integrates the structs, then
  // throws on a malformed delete set, leaving the doc changed.
  it('catches updates Yjs would apply halfway', () => {
    const good = Y.encodeStateAsUpdate(docWithText('abc'));
    // Replace the empty delete set (last byte 0) with a truncated one.
    const bad = new Uint8Array([...good.subarray(0, good.length - 1), 1, 5, 0xff]);
    const victim = new Y.Doc();
    expect(() => Y.applyUpdate(victim, bad)).toThrow();
    expect(victim.getText('t').toString()).toBe('abc');
    rejected(bad);
  });

  it('checks a 1 MiB update in bounded time', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    for (let i = 0; i < 2000; i++) text.insert(0, 'x'.repeat(500));
    const update = Y.encodeStateAsUpdate(doc);
    expect(update.length).toBeGreaterThan(1_000_000);
    expect(checkUpdate(update).structs).toBeGreaterThan(0);
  });
});

describe('checkAwarenessUpdate', () => {
  it('round-trips entries and rejects malformed or oversized ones', () => {
    const entries = [
      { clientId: 7, clock: 3, state: '{"user":{"name":"a"}}' },
      { clientId: 8, clock: 1, state: 'null' },
    ];
    expect(checkAwarenessUpdate(encodeAwarenessEntries(entries))).toEqual(entries);
    const codeOf = (update: Uint8Array) => {
      try {
        checkAwarenessUpdate(update);
      } catch (err) {
        return (err as UpdateRejectedError).closeCode;
      }
      return null;
    };
    expect(codeOf(new Uint8Array())).toBe(CloseCode.MalformedFrame);
    expect(codeOf(hex('ffffffff0f'))).toBe(CloseCode.MalformedFrame);
    expect(codeOf(encodeAwarenessEntries([{ clientId: 1, clock: 1, state: '{' }]))).toBe(
      CloseCode.MalformedFrame,
    );
    const big = JSON.stringify({ pad: 'x'.repeat(17 * 1024) });
    expect(codeOf(encodeAwarenessEntries([{ clientId: 1, clock: 1, state: big }]))).toBe(
      CloseCode.RateLimited,
    );
  });
});

function docWithText(content: string): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = 1;
  doc.getText('t').insert(0, content);
  return doc;
}

describe('takeCheckedAppendShape (what a room may append without integrating)', () => {
  it("records each client section's clock range and the other clients' structs an update names", () => {
    const a = new Y.Doc();
    a.clientID = 10;
    const b = new Y.Doc();
    b.clientID = 20;
    a.getText('t').insert(0, 'abc');
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const before = Y.encodeStateVector(b);
    b.getText('t').insert(1, 'XY'); // between a's 'a' and 'b': origins (10, 0) and (10, 1)
    b.getText('t').insert(3, 'Z'); // after its own 'Y': origin (20, 1)
    const update = Y.encodeStateAsUpdate(b, before);
    expect(takeCheckedAppendShape(update)).toBeUndefined();
    checkUpdate(update);
    const shape = takeCheckedAppendShape(update);
    expect(shape?.sections).toEqual([20, 0, 3]);
    // Only references to other clients count as dependencies; its own earlier clocks do not.
    expect(shape?.deps).toEqual([10, 0, 10, 1]);
    // Taken once: the map keeps no entry for the room to leave behind.
    expect(takeCheckedAppendShape(update)).toBeUndefined();
  });

  it('gives none for an update with a skip; a delete-only update has one', () => {
    const doc = new Y.Doc();
    doc.clientID = 5;
    const u1 = edit(doc, 'ab');
    edit(doc, 'cd');
    const u3 = edit(doc, 'ef');
    // A merge across a missing update holds a skip where it was.
    const skipped = Y.mergeUpdates([u1, u3]);
    checkUpdate(skipped);
    expect(takeCheckedAppendShape(skipped)).toBeUndefined();
    const deleteOnly = craft((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 5);
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 1);
    });
    checkUpdate(deleteOnly);
    // A backspace appends too: its range (client 5, clocks 0–1) must be in the log.
    expect(takeCheckedAppendShape(deleteOnly)).toEqual({ sections: [], deps: [], deletes: [5, 1] });
  });

  it("refuses an item naming its own client's clock at or after its own (origin, right origin or parent), which Yjs throws on", () => {
    // Client 7's item at clock 3 ("w1 ", clocks 3–5) whose right origin is
    // (7, 4): the frame a socket fuzzer made (seed 1102126416). The relay
    // forwarded it, and an honest client's Y.applyUpdate threw.
    const fuzzed = new Uint8Array([1, 1, 208, 15, 3, 68, 208, 15, 4, 3, 119, 49, 32, 0]);
    const holder = new Y.Doc();
    holder.clientID = 2000;
    holder.getText('f').insert(0, 'abc');
    expect(() => Y.applyUpdate(holder, fuzzed)).toThrow();
    expect(() => checkUpdate(fuzzed)).toThrow(/refers to its own client's clock 4/);
    const item = (info: number, ref: (e: encoding.Encoder) => void) =>
      craft((e) => {
        encoding.writeVarUint(e, 1);
        encoding.writeVarUint(e, 1);
        encoding.writeVarUint(e, 7);
        encoding.writeVarUint(e, 2); // clock 2
        encoding.writeUint8(e, info);
        ref(e);
        encoding.writeVarString(e, 'a');
        encoding.writeVarUint(e, 0);
      });
    const at = (clock: number) => (e: encoding.Encoder) => {
      encoding.writeVarUint(e, 7);
      encoding.writeVarUint(e, clock);
    };
    for (const clock of [2, 3]) {
      expect(() => checkUpdate(item(0x80 | 4, at(clock)))).toThrow(UpdateRejectedError);
      expect(() => checkUpdate(item(0x40 | 4, at(clock)))).toThrow(UpdateRejectedError);
      const parent = (e: encoding.Encoder) => {
        encoding.writeVarUint(e, 0); // parent by id
        at(clock)(e);
      };
      expect(() => checkUpdate(item(4, parent))).toThrow(UpdateRejectedError);
    }
    // An earlier clock of its own client is what Yjs makes.
    expect(() => checkUpdate(item(0x80 | 4, at(1)))).not.toThrow();
  });
});

function edit(doc: Y.Doc, text: string): Uint8Array {
  const before = Y.encodeStateVector(doc);
  doc.getText('t').insert(doc.getText('t').length, text);
  return Y.encodeStateAsUpdate(doc, before);
}
