/**
 * `node --import tsx bench/src/fanout/promotedTop.ts <file.heapprofile> [n]`:
 * the allocation sites (with three callers) holding the most bytes in a V8
 * sampling heap profile, e.g. one promotedPreload.mjs wrote: what outlived
 * minor collections, and where it was allocated.
 */
import { readFileSync } from 'node:fs';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const [file, top = '25'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: promotedTop.ts <file.heapprofile> [n]');
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
const sites = new Map<string, number>();
let total = 0;
const walk = (node: HeapNode, callers: string[]): void => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  const stack = [where, ...callers].slice(0, 4);
  if (node.selfSize > 0) {
    const key = stack.join(' < ');
    sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const child of node.children) walk(child, stack);
};
walk(head, []);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2).padStart(7);
console.log(`${mib(total)} MiB sampled in all`);
for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${mib(bytes)}  ${site}`);
}
