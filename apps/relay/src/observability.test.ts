import { type ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CloseCode } from '@lattice/replication';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RelayOptions, RunningRelay } from './index.ts';
import { createLogger, relayLog, sanitizeUrl } from './logger.ts';
import { MuxWsClient, type PromScrape, parsePromText } from './testing/index.ts';
import { httpGet, useTestRelays } from './testing/relayFixture.ts';

const SECRET = 'secret123';
const appDir = fileURLToPath(new URL('..', import.meta.url));
const relays = useTestRelays('lattice-obs-', { auth: 'off' });
const { tempDir, defer } = relays;

/** JSON log lines captured from a real pino logger (the relay's, in-process). */
class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line);
      done();
    },
  });

  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

async function start(
  options: Partial<RelayOptions> & { capture?: LogCapture; verbose?: boolean } = {},
): Promise<RunningRelay> {
  const { capture, verbose, ...rest } = options;
  return relays.start({
    ...(capture === undefined
      ? {}
      : { log: relayLog(createLogger({ verbose: verbose ?? true, destination: capture.stream })) }),
    ...rest,
  });
}

async function scrape(relay: RunningRelay): Promise<PromScrape> {
  const res = await httpGet(`${relay.url}/metrics`);
  expect(res.status).toBe(200);
  return parsePromText(res.body);
}

function num(s: PromScrape, name: string, labels: Record<string, string> = {}): number {
  const value = s.value(name, labels);
  if (value === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return value;
}

/** Scrapes until `check` holds (gauges follow socket closes asynchronously). */
async function scrapeUntil(
  relay: RunningRelay,
  check: (s: PromScrape) => boolean,
): Promise<PromScrape> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = await scrape(relay);
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error('metrics never reached the expected values');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw socket with optional headers; resolves with the close once the relay closes it. */
function rawSocket(
  url: string,
  headers: Record<string, string> = {},
): { ws: WebSocket; opened: Promise<void>; closed: Promise<{ code: number; reason: string }> } {
  const ws = new WebSocket(url, { headers });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  // A refused upgrade rejects `opened`; tests that expect it await `closed` instead.
  opened.catch(() => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  defer(() => ws.terminate());
  return { ws, opened, closed };
}

const wsUrl = (relay: RunningRelay, path: string) => `${relay.url.replace(/^http/, 'ws')}${path}`;

describe('GET /metrics', { timeout: 30_000 }, () => {
  it('serves the Prometheus text format with every lattice series and the process metrics', async () => {
    const relay = await start();
    const res = await httpGet(`${relay.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = parsePromText(res.body);
    expect(s.types.get('lattice_connections')).toBe('gauge');
    expect(s.types.get('lattice_rooms_loaded')).toBe('gauge');
    expect(s.types.get('lattice_messages_total')).toBe('counter');
    expect(s.types.get('lattice_bytes_total')).toBe('counter');
    expect(s.types.get('lattice_ack_latency_seconds')).toBe('histogram');
    expect(s.types.get('lattice_storage_write_seconds')).toBe('histogram');
    expect(s.types.get('lattice_rejected_total')).toBe('counter');
    for (const kind of ['multiplexed', 'y-websocket', 'peer']) {
      expect(num(s, 'lattice_connections', { kind })).toBe(0);
    }
    expect(num(s, 'lattice_rejected_total', { reason: 'malformed' })).toBe(0);
    // Buckets from 1 ms to 5 s.
    expect(s.value('lattice_ack_latency_seconds_bucket', { le: '0.001' })).toBe(0);
    expect(s.value('lattice_ack_latency_seconds_bucket', { le: '5' })).toBe(0);
    expect(s.types.get('process_resident_memory_bytes')).toBe('gauge');
    expect(s.types.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('two relays in one process keep separate counts', async () => {
    const a = await start();
    const b = await start();
    const bad = rawSocket(wsUrl(a, '/sync'));
    await bad.opened;
    bad.ws.send(Uint8Array.of(0xff, 0xff, 0xff));
    await bad.closed;
    await scrapeUntil(a, (s) => num(s, 'lattice_rejected_total', { reason: 'malformed' }) === 1);
    expect(num(await scrape(b), 'lattice_rejected_total', { reason: 'malformed' })).toBe(0);
  });

  it('moves with traffic: connections, rooms, messages, bytes, ack latency, storage writes', async () => {
    const relay = await start();
    const before = await scrape(relay);
    const client = new MuxWsClient(relay.url);
    defer(() => client.close());
    await client.hello();
    const doc = client.sync('w/metrics');
    await client.waitFor(() => (client.acked('w/metrics') >= 1 ? true : undefined));
    const text = doc.getText('body');
    for (let i = 0; i < 20; i++) text.insert(text.length, `edit ${i} `);
    await client.waitFor(() =>
      client.acked('w/metrics') === client.sent('w/metrics') ? true : undefined,
    );
    const yws = rawSocket(wsUrl(relay, '/ws/w%2Fother'));
    await yws.opened;

    const during = await scrapeUntil(
      relay,
      (s) => num(s, 'lattice_connections', { kind: 'y-websocket' }) === 1,
    );
    expect(num(during, 'lattice_connections', { kind: 'multiplexed' })).toBe(1);
    expect(num(during, 'lattice_connections', { kind: 'peer' })).toBe(0);
    expect(num(during, 'lattice_rooms_loaded')).toBe(2);
    for (const direction of ['in', 'out']) {
      expect(num(during, 'lattice_messages_total', { direction })).toBeGreaterThan(
        num(before, 'lattice_messages_total', { direction }),
      );
      expect(num(during, 'lattice_bytes_total', { direction })).toBeGreaterThan(
        num(before, 'lattice_bytes_total', { direction }),
      );
    }
    // The client sent 1 Hello + numbered messages; every numbered one is acked by now.
    const acked = client.acked('w/metrics');
    expect(acked).toBe(client.sent('w/metrics'));
    expect(acked).toBeGreaterThanOrEqual(21);
    expect(num(during, 'lattice_messages_total', { direction: 'in' })).toBeGreaterThanOrEqual(
      acked + 1,
    );
    expect(num(during, 'lattice_ack_latency_seconds_count')).toBe(acked);
    expect(num(during, 'lattice_ack_latency_seconds_bucket', { le: '+Inf' })).toBe(acked);
    expect(num(during, 'lattice_ack_latency_seconds_sum')).toBeGreaterThan(0);
    expect(num(during, 'lattice_storage_write_seconds_count')).toBeGreaterThan(0);

    await client.close();
    yws.ws.close();
    await yws.closed;
    const after = await scrapeUntil(
      relay,
      (s) =>
        num(s, 'lattice_connections', { kind: 'multiplexed' }) === 0 &&
        num(s, 'lattice_connections', { kind: 'y-websocket' }) === 0,
    );
    // Counters never go down.
    expect(num(after, 'lattice_ack_latency_seconds_count')).toBe(acked);
  });

  it('counts peer links under kind="peer" on both relays, not as multiplexed clients', async () => {
    const a = await start();
    const b = await start({ peers: [a.url.replace(/^http/, 'ws')] });
    const linked = (s: PromScrape) =>
      num(s, 'lattice_connections', { kind: 'peer' }) === 1 &&
      num(s, 'lattice_connections', { kind: 'multiplexed' }) === 0;
    await scrapeUntil(a, linked);
    await scrapeUntil(b, linked);
  });

  it('counts a malformed first frame under lattice_rejected_total{reason="malformed"}', async () => {
    const relay = await start();
    const before = num(await scrape(relay), 'lattice_rejected_total', { reason: 'malformed' });
    const bad = rawSocket(wsUrl(relay, '/sync'));
    await bad.opened;
    bad.ws.send(Uint8Array.of(0xff, 0x01, 0x02));
    expect((await bad.closed).code).toBe(CloseCode.MalformedFrame);
    const after = await scrapeUntil(
      relay,
      (s) => num(s, 'lattice_rejected_total', { reason: 'malformed' }) === before + 1,
    );
    expect(num(after, 'lattice_rejected_total', { reason: 'unsupported_version' })).toBe(0);
  });
});

describe('request ids', { timeout: 30_000 }, () => {
  it('echoes a sane x-request-id and logs it on http.request', async () => {
    const capture = new LogCapture();
    const relay = await start({ capture });
    const res = await httpGet(`${relay.url}/healthz`, { 'x-request-id': 'req-Abc.123_x' });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-Abc.123_x');
    const line = capture
      .records()
      .find((r) => r.event === 'http.request' && r.reqId === 'req-Abc.123_x');
    expect(line).toMatchObject({ method: 'GET', path: '/healthz', status: 200, level: 'debug' });
    expect(typeof line?.durationMs).toBe('number');
  });

  it('replaces an x-request-id that is not a sane token with a random one', async () => {
    const relay = await start();
    const ids = new Set<string>();
    for (const bad of ['has space', 'x'.repeat(65), 'quote"s', '']) {
      const res = await httpGet(`${relay.url}/healthz`, { 'x-request-id': bad });
      const id = res.headers['x-request-id'];
      expect(typeof id).toBe('string');
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
      ids.add(id as string);
    }
    expect(ids.size).toBe(4);
    const plain = await httpGet(`${relay.url}/no-such-file`);
    expect(plain.headers['x-request-id']).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  });

  it('gives an upgrade its request id and the session logs it as conn', async () => {
    const capture = new LogCapture();
    const relay = await start({ capture, verbose: false });
    const bad = rawSocket(wsUrl(relay, '/sync'), { 'x-request-id': 'upgrade-42' });
    await bad.opened;
    bad.ws.send(Uint8Array.of(0xff));
    await bad.closed;
    const records = capture.records();
    expect(records.find((r) => r.event === 'http.upgrade')).toMatchObject({
      reqId: 'upgrade-42',
      path: '/sync',
      level: 'info',
    });
    expect(records.find((r) => r.event === 'session.close')).toMatchObject({
      conn: 'upgrade-42',
      code: CloseCode.MalformedFrame,
      level: 'warn',
    });
  });

  it('echoes the request id on a refused upgrade', async () => {
    const relay = await start();
    const socket = new WebSocket(wsUrl(relay, '/nowhere'), {
      headers: { 'x-request-id': 'r-404' },
    });
    const response = await new Promise<{ status: number; id: unknown }>((resolve, reject) => {
      socket.on('unexpected-response', (_req, res) =>
        resolve({ status: res.statusCode ?? 0, id: res.headers['x-request-id'] }),
      );
      socket.on('error', reject);
    });
    socket.terminate();
    expect(response).toEqual({ status: 404, id: 'r-404' });
  });
});

describe('token redaction', { timeout: 30_000 }, () => {
  it('sanitizeUrl drops query strings, fragments and credentials', () => {
    expect(sanitizeUrl(`/sync?token=${SECRET}`)).toBe('/sync');
    expect(sanitizeUrl(`/ws/doc#token=${SECRET}`)).toBe('/ws/doc');
    expect(sanitizeUrl(`ws://user:${SECRET}@relay:8080/sync?token=${SECRET}`)).toBe(
      'ws://relay:8080/sync',
    );
    expect(sanitizeUrl('/api/workspaces')).toBe('/api/workspaces');
  });

  it('never logs a token field, an Authorization header or a ?token= inside text', () => {
    const capture = new LogCapture();
    const log = relayLog(createLogger({ verbose: true, destination: capture.stream }));
    log('test.event', {
      token: SECRET,
      proof: SECRET,
      authorization: `Bearer ${SECRET}`,
      headers: { authorization: `Bearer ${SECRET}` },
      peer: { token: SECRET },
      url: `ws://relay/sync?token=${SECRET}&x=1`,
      error: `dial failed: Bearer ${SECRET}`,
    });
    expect(capture.lines).toHaveLength(1);
    expect(capture.lines[0]).not.toContain(SECRET);
    expect(JSON.parse(capture.lines[0]!)).toMatchObject({
      event: 'test.event',
      token: '[Redacted]',
      url: 'ws://relay/sync?token=[Redacted]&x=1',
    });
  });

  it('keeps a token in the URL or the Authorization header out of the logs at debug level', async () => {
    const capture = new LogCapture();
    const relay = await start({ capture, verbose: true });
    const auth = { authorization: `Bearer ${SECRET}` };
    await httpGet(`${relay.url}/healthz?token=${SECRET}`, auth);
    await httpGet(`${relay.url}/api/workspaces?token=${SECRET}`, auth);
    await httpGet(`${relay.url}/missing?token=${SECRET}`, auth);
    const bad = rawSocket(wsUrl(relay, `/sync?token=${SECRET}`), auth);
    await bad.opened;
    bad.ws.send(Uint8Array.of(0xff));
    await bad.closed;
    const yws = rawSocket(wsUrl(relay, `/ws/w%2Fdoc?token=${SECRET}`), auth);
    await yws.opened;
    yws.ws.send('text frame');
    await yws.closed;
    const refused = rawSocket(wsUrl(relay, `/nowhere?token=${SECRET}`), auth);
    await refused.closed;
    const events = new Set(capture.records().map((r) => r.event));
    expect(events).toContain('http.request');
    expect(events).toContain('http.upgrade');
    expect(events).toContain('http.upgrade_refused');
    expect(capture.lines.join('\n')).not.toContain(SECRET);
  });
});

describe('lattice-relay process logs', { timeout: 40_000 }, () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  });

  it('writes pino JSON lines with request ids to stderr, never the token, also at --verbose', async () => {
    const dataDir = await tempDir();
    child = spawn(
      process.execPath,
      ['bin/relay.mjs', '--port', '0', '--data-dir', dataDir, '--auth', 'off', '--verbose'],
      { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child?.on('exit', resolve));
    const deadline = Date.now() + 20_000;
    let url = '';
    while (url === '') {
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (match !== null) url = match[1]!;
      else if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`relay did not start: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const auth = { authorization: `Bearer ${SECRET}`, 'x-request-id': 'cli-req-1' };
    const res = await httpGet(`${url}/healthz?token=${SECRET}`, auth);
    expect(res.headers['x-request-id']).toBe('cli-req-1');
    const relay = { url } as RunningRelay;
    const bad = rawSocket(wsUrl(relay, `/sync?token=${SECRET}`), {
      ...auth,
      'x-request-id': 'cli-up-1',
    });
    await bad.opened;
    bad.ws.send(Uint8Array.of(0xff));
    await bad.closed;
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const records = err
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(3);
    for (const r of records) {
      expect(typeof r.level).toBe('string');
      expect(typeof r.time).toBe('string');
      expect(typeof r.event).toBe('string');
    }
    expect(
      records.find((r) => r.event === 'http.request' && r.reqId === 'cli-req-1'),
    ).toBeDefined();
    // However the upgrade ended (a bad frame, or a refused token), its lines carry the id.
    expect(records.find((r) => r.reqId === 'cli-up-1' || r.conn === 'cli-up-1')).toBeDefined();
    expect(records.find((r) => r.event === 'relay.listening')).toBeDefined();
    expect(err).not.toContain(SECRET);
    expect(out).not.toContain(SECRET);
  });
});
