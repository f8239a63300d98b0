import type { ReplicaAccess } from '@lattice/replication';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuthApi, AuthApiError, type ClaimResult } from './AuthApi.ts';
import { WorkspaceAccess, type WorkspaceAccessOptions } from './WorkspaceAccess.ts';

/** A replica stand-in whose access the test sets. */
function fakeReplica() {
  const listeners = new Set<(a: ReplicaAccess) => void>();
  const replica = {
    access: { role: null, problem: null, reason: '' } as ReplicaAccess,
    onAccessChange(listener: (a: ReplicaAccess) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next: Partial<ReplicaAccess>) {
      replica.access = { ...replica.access, ...next };
      for (const l of listeners) l(replica.access);
    },
  };
  return replica;
}

/** An API whose claim answers come from `answers`, in order (the last one repeats). */
function fakeApi(answers: (ClaimResult | AuthApiError)[]) {
  const claims: string[] = [];
  const api = {
    claims,
    claim: async (id: string) => {
      claims.push(id);
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (answer instanceof AuthApiError) throw answer;
      return answer as ClaimResult;
    },
  };
  return api;
}

const jwt = (role: string) => `h.${btoa(JSON.stringify({ ws: 'w1', role })).replace(/=+$/, '')}.s`;

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 3000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const made: WorkspaceAccess[] = [];
afterEach(() => {
  for (const a of made.splice(0)) a.stop();
});

function access(options: Omit<Partial<WorkspaceAccessOptions>, 'api'> & { api?: unknown }) {
  const saved: string[] = [];
  const applied: string[] = [];
  const replica = (options.replica as ReturnType<typeof fakeReplica>) ?? fakeReplica();
  const a = new WorkspaceAccess({
    workspaceId: 'w1',
    createdHere: true,
    token: null,
    saveToken: (t) => saved.push(t),
    applyToken: (t) => applied.push(t),
    retry: { baseMs: 5, maxMs: 20 },
    ...options,
    replica,
    api: (options.api ?? null) as AuthApi | null,
  });
  made.push(a);
  return { a, saved, applied, replica };
}

describe('WorkspaceAccess', () => {
  it('claims a workspace made here and hands the owner token to storage and replica', async () => {
    const api = fakeApi([{ kind: 'claimed', token: jwt('owner') }]);
    const { a, saved, applied } = access({ api });
    a.start();
    await eventually(() => applied.length === 1, 'token applied');
    expect(api.claims).toEqual(['w1']);
    expect(saved).toEqual([jwt('owner')]);
    expect(a.view).toMatchObject({ ownerToken: jwt('owner'), problem: null, claiming: false });
  });

  it('offline: keeps retrying, then claims; the token-less 4401 meanwhile is not "no access"', async () => {
    const down = new AuthApiError(0, 'The relay could not be reached');
    const api = fakeApi([down, down, { kind: 'claimed', token: jwt('owner') }]);
    const { a, applied, replica } = access({ api });
    a.start();
    replica.set({ problem: 'unauthorized', reason: 'no token' });
    expect(a.view.problem).toBeNull();
    await eventually(() => applied.length === 1, 'claimed after retries');
    expect(api.claims.length).toBe(3);
  });

  it('a 409 shows No access; a workspace not made here never claims', async () => {
    const api = fakeApi([new AuthApiError(409, 'workspace already claimed')]);
    const { a } = access({ api });
    a.start();
    await eventually(() => a.view.problem !== null, 'conflict shown');
    expect(a.view.problem).toBe('forbidden');
    expect(a.view.reason).toMatch(/already claimed/);

    const other = fakeApi([{ kind: 'claimed', token: 'x' }]);
    const shared = access({ api: other, createdHere: false });
    shared.a.start();
    shared.replica.set({ problem: 'unauthorized', reason: 'no token' });
    await new Promise((r) => setTimeout(r, 20));
    expect(other.claims).toEqual([]);
    expect(shared.a.view.problem).toBe('unauthorized');
  });

  it('is read-only from a read token before the relay says so, and from the relay role', () => {
    const fromToken = access({ createdHere: false, token: jwt('read') });
    fromToken.a.start();
    expect(fromToken.a.view).toMatchObject({ role: 'read', readOnly: true, ownerToken: null });

    const fromRelay = access({ createdHere: false, token: jwt('write') });
    fromRelay.a.start();
    expect(fromRelay.a.view.readOnly).toBe(false);
    fromRelay.replica.set({ role: 'read' });
    expect(fromRelay.a.view.readOnly).toBe(true);
    fromRelay.replica.set({ role: 'write', problem: 'expired', reason: 'token expired' });
    expect(fromRelay.a.view).toMatchObject({ problem: 'expired', readOnly: false });
  });
});
