/**
 * A Hocuspocus server as its users run it (child process of the fan-out
 * benchmark): `@hocuspocus/server` with defaults and no persistence
 * extension, on 127.0.0.1 and a free port. Prints `listening on ws://…`.
 * Plain JavaScript run by plain node, like the Lattice relay's compiled
 * bundle: neither server pays for a TypeScript loader (~30 MiB of RSS).
 */
import { Server } from '@hocuspocus/server';

const server = new Server({ address: '127.0.0.1', port: 0, quiet: true });
await server.listen();
process.stdout.write(`listening on ws://127.0.0.1:${server.address.port}\n`);
