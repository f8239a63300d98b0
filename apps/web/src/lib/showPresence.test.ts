import { describe, expect, it } from 'vitest';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { showPresence } from './showPresence.ts';

const nextTask = () => new Promise((r) => setTimeout(r, 0));

describe('showPresence', () => {
  it("clears this person's state once the last pane showing the note closes", async () => {
    const awareness = new Awareness(new Y.Doc());
    const close = showPresence(awareness);
    awareness.setLocalStateField('user', { name: 'Ada' });
    awareness.setLocalStateField('cursor', { anchor: 1, head: 1 });
    close();
    await nextTask();
    expect(awareness.getLocalState()).toEqual({});
    awareness.destroy();
  });

  it('keeps the state when the note is shown again within the task (closed and reopened)', async () => {
    const awareness = new Awareness(new Y.Doc());
    const closeFirst = showPresence(awareness);
    awareness.setLocalStateField('user', { name: 'Ada' });
    closeFirst();
    const closeSecond = showPresence(awareness);
    await nextTask();
    expect(awareness.getLocalState()).toEqual({ user: { name: 'Ada' } });
    closeSecond();
    await nextTask();
    expect(awareness.getLocalState()).toEqual({});
    awareness.destroy();
  });

  it('leaves a destroyed awareness alone (the doc was released first)', async () => {
    const awareness = new Awareness(new Y.Doc());
    const close = showPresence(awareness);
    close();
    awareness.destroy();
    await nextTask();
    expect(awareness.getLocalState()).toBeNull();
  });
});
