import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { expect, test } from '@playwright/test';
import { FaultProxy } from '../harness/FaultProxy.ts';

// The fault proxy in front of a plain TCP echo server: no browser, no relay.

class Echo {
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  constructor() {
    this.server = createServer({ noDelay: true }, (socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
      socket.pipe(socket);
    });
  }
  static async start(port = 0): Promise<Echo> {
    const echo = new Echo();
    echo.server.listen(port, '127.0.0.1');
    await once(echo.server, 'listening');
    const address = echo.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    echo.port = address.port;
    return echo;
  }
  port = 0;
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A client that records what it got and how it ended. */
class Client {
  readonly socket: Socket;
  received = '';
  connected = false;
  ended: 'open' | 'closed' | 'error' = 'open';
  constructor(port: number) {
    this.socket = tcpConnect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.setEncoding('utf8');
    this.socket.on('connect', () => {
      this.connected = true;
    });
    this.socket.on('data', (s: string) => {
      this.received += s;
    });
    this.socket.on('error', () => {
      this.ended = 'error';
    });
    this.socket.on('close', () => {
      if (this.ended === 'open') this.ended = 'closed';
    });
  }
  send(text: string): void {
    this.socket.write(text);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.describe('FaultProxy', () => {
  let echo: Echo;
  let proxy: FaultProxy;
  const clients: Client[] = [];
  const client = () => {
    const c = new Client(proxy.port);
    clients.push(c);
    return c;
  };

  test.beforeEach(async () => {
    echo = await Echo.start();
    proxy = await FaultProxy.start(echo);
  });
  test.afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await proxy.close();
    await echo.close();
  });

  test('pass forwards both ways with no added latency', async () => {
    const c = client();
    // 50 sequential round trips: Nagle or a stray timer in the proxy would show up here.
    const started = performance.now();
    for (let i = 0; i < 50; i++) {
      c.send(`p${i};`);
      await expect.poll(() => c.received.endsWith(`p${i};`), { intervals: [1] }).toBe(true);
    }
    const perRoundTrip = (performance.now() - started) / 50;
    expect(perRoundTrip).toBeLessThan(15);
    expect(proxy.connections).toBe(1);
  });

  test('refuse resets open connections and every new one', async () => {
    const open = client();
    open.send('hi');
    await expect.poll(() => open.received).toBe('hi');
    proxy.refuse();
    await expect.poll(() => open.ended).not.toBe('open');
    const late = client();
    await expect.poll(() => late.ended).not.toBe('open');
    expect(late.received).toBe('');
    expect(echo.sockets.size).toBe(0);
    proxy.pass();
    const again = client();
    again.send('back');
    await expect.poll(() => again.received).toBe('back');
  });

  test('blackhole keeps sockets open and silent, then delivers in order after healing', async () => {
    const old = client();
    old.send('a');
    await expect.poll(() => old.received).toBe('a');
    proxy.blackhole();
    old.send('b');
    old.send('c');
    const fresh = client();
    await expect.poll(() => fresh.connected).toBe(true);
    fresh.send('x');
    await sleep(400);
    // Half-open: no data, no close, no error on either side.
    expect(old.received).toBe('a');
    expect(fresh.received).toBe('');
    expect([old.ended, fresh.ended]).toEqual(['open', 'open']);
    // The connection accepted meanwhile has not reached the server yet.
    expect(echo.sockets.size).toBe(1);

    proxy.pass();
    await expect.poll(() => old.received).toBe('abc');
    await expect.poll(() => fresh.received).toBe('x');
    expect(echo.sockets.size).toBe(2);
  });

  test('a close during a blackhole is held back too', async () => {
    const c = client();
    c.send('1');
    await expect.poll(() => c.received).toBe('1');
    proxy.blackhole();
    c.send('2');
    c.socket.end();
    await sleep(200);
    const [server] = [...echo.sockets];
    expect(server?.readableEnded).toBe(false);
    proxy.pass();
    await expect.poll(() => echo.sockets.size).toBe(0);
    await expect.poll(() => proxy.connections).toBe(0);
  });

  test('cut resets current connections and keeps accepting', async () => {
    const a = client();
    const b = client();
    a.send('a');
    b.send('b');
    await expect.poll(() => a.received + b.received).toBe('ab');
    proxy.cut();
    await expect.poll(() => [a.ended, b.ended]).toEqual(['error', 'error']);
    expect(proxy.mode).toBe('pass');
    const c = client();
    c.send('c');
    await expect.poll(() => c.received).toBe('c');
  });

  test('delay holds each direction back and keeps order', async () => {
    const c = client();
    c.send('warm');
    await expect.poll(() => c.received).toBe('warm');
    proxy.delay(150);
    const started = performance.now();
    const expected = Array.from({ length: 40 }, (_, i) => `d${i},`).join('');
    for (let i = 0; i < 40; i++) c.send(`d${i},`);
    await expect.poll(() => c.received.length > 4).toBe(true);
    const firstEcho = performance.now() - started;
    await expect.poll(() => c.received).toBe(`warm${expected}`);
    // 150 ms there and 150 ms back.
    expect(firstEcho).toBeGreaterThanOrEqual(290);
    expect(firstEcho).toBeLessThan(1000);

    // Back to pass: what still waits goes out at once, still in order.
    c.send('late1,');
    proxy.pass();
    c.send('late2,');
    await expect.poll(() => c.received).toBe(`warm${expected}late1,late2,`);
  });

  test('a refused upstream resets the client; retarget follows a restarted server', async () => {
    const port = echo.port;
    await echo.close();
    const c = client();
    await expect.poll(() => c.ended).toBe('error');
    echo = await Echo.start();
    proxy.retarget(echo);
    const d = client();
    d.send('moved');
    await expect.poll(() => d.received).toBe('moved');
    expect(echo.port).not.toBe(port);
  });

  test('counts bytes per direction as delivered, not while a blackhole holds them', async () => {
    const c = client();
    c.send('12345');
    await expect.poll(() => c.received).toBe('12345');
    expect(proxy.bytes).toEqual({ up: 5, down: 5 });
    proxy.resetBytes();
    expect(proxy.bytes).toEqual({ up: 0, down: 0 });
    proxy.blackhole();
    c.send('abc');
    await sleep(200);
    expect(proxy.bytes).toEqual({ up: 0, down: 0 });
    proxy.pass();
    await expect.poll(() => c.received).toBe('12345abc');
    expect(proxy.bytes).toEqual({ up: 3, down: 3 });
    expect(proxy.accepted).toBe(1);
  });

  test('rejects nonsense modes', () => {
    expect(() => proxy.delay(-1)).toThrow(/delay/);
    expect(() => proxy.set('sideways' as never)).toThrow(/unknown fault mode/);
    expect(proxy.mode).toBe('pass');
  });
});
