import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { RESULTS_DIR } from './results.ts';

/**
 * Renders a Vega-Lite spec to `bench/results/<name>.svg` and `.png`; returns
 * the two file names (relative to the results dir).
 */
export async function writePlot(name: string, spec: TopLevelSpec): Promise<string[]> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 } })
    .render()
    .asPng();
  await writeFile(join(RESULTS_DIR, `${name}.svg`), svg);
  await writeFile(join(RESULTS_DIR, `${name}.png`), png);
  return [`${name}.svg`, `${name}.png`];
}
