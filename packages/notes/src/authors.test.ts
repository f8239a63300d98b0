import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { AUTHORS_MAP, authorNames, recordAuthorship } from './authors.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('recordAuthorship', () => {
  it('names this client id after its first insert, and again after a rename', async () => {
    const doc = new Y.Doc();
    let name = 'Ada';
    const stop = recordAuthorship(doc, () => name);
    doc.getText('body').insert(0, 'hello');
    await tick();
    expect(doc.getMap(AUTHORS_MAP).get(String(doc.clientID))).toBe('Ada');
    name = 'Grace';
    doc.getText('body').insert(5, '!');
    await tick();
    expect(authorNames(doc, [doc.clientID])).toEqual(['Grace']);
    stop();
    name = 'Nobody';
    doc.getText('body').insert(0, 'x');
    await tick();
    expect(authorNames(doc, [doc.clientID])).toEqual(['Grace']);
  });

  it('writes nothing for remote updates or deletions alone', async () => {
    const writer = new Y.Doc();
    writer.getText('body').insert(0, 'abc');
    const reader = new Y.Doc();
    recordAuthorship(reader, () => 'Reader');
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(writer));
    await tick();
    expect(reader.getMap(AUTHORS_MAP).size).toBe(0);
    const before = Y.encodeStateAsUpdate(reader);
    reader.getText('body').delete(0, 1);
    await tick();
    expect(reader.getMap(AUTHORS_MAP).size).toBe(0);
    expect(before.byteLength).toBeGreaterThan(0);
  });

  it('authorNames skips unknown ids and duplicates', () => {
    const doc = new Y.Doc();
    doc.getMap(AUTHORS_MAP).set('1', 'Ada');
    doc.getMap(AUTHORS_MAP).set('2', 'Ada');
    doc.getMap(AUTHORS_MAP).set('3', 42);
    expect(authorNames(doc, [1, 2, 3, 4])).toEqual(['Ada']);
  });
});
