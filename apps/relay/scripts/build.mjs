// `pnpm --filter @lattice/relay build` (part of the root `pnpm build`): bundles the
// relay and the workspace packages it uses into dist/main.mjs, which bin/relay.mjs
// runs instead of compiling the TypeScript sources on load. Measured under the
// fan-out benchmark: ~30 MiB less RSS (no tsx loader thread, no transform cache).
// npm dependencies stay external (one copy of yjs, native classic-level).
import { writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const distDir = join(appDir, 'dist');
const SKIP = Symbol('resolve without this plugin');

const result = await build({
  absWorkingDir: appDir,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/main.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-npm-packages',
      setup(b) {
        // npm packages are not bundled: each import points at the file Node would
        // load for that importer (pnpm gives each workspace package its own
        // dependencies), as a path relative to dist/, so every module instance is
        // the one running from source would use.
        b.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.path.startsWith('@lattice/') || args.pluginData === SKIP) return undefined;
          if (args.path.startsWith('node:')) return { path: args.path, external: true };
          const resolved = await b.resolve(args.path, {
            kind: args.kind,
            importer: args.importer,
            resolveDir: args.resolveDir,
            pluginData: SKIP,
          });
          if (resolved.errors.length > 0) return { errors: resolved.errors };
          let path = relative(distDir, resolved.path).split(sep).join('/');
          if (!path.startsWith('.')) path = `./${path}`;
          return { path, external: true };
        });
      },
    },
  ],
});
// What bin/relay.mjs checks: a source newer than the bundle means the bundle is stale.
const inputs = Object.keys(result.metafile.inputs);
await writeFile(
  new URL('../dist/main.inputs.json', import.meta.url),
  `${JSON.stringify(inputs)}\n`,
);
