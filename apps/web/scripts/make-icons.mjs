// Renders the app icons in public/ (run: node scripts/make-icons.mjs).
// The same drawing as public/icon.svg, rasterized with supersampling so the
// PNGs need no image toolchain; re-run after changing the design.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');
const BACKGROUND = [79, 70, 229];
const INK = [255, 255, 255];
const ACCENT = [255, 196, 77];
const NODES = [0.3, 0.5, 0.7];
const LINE = 0.028;
const DOT = 0.055;
const SAMPLES = 4;

/** Colour (with coverage) at a point in unit coordinates. */
function shade(x, y, { rounded }) {
  if (rounded && !insideRoundedSquare(x, y, 0.22)) return null;
  const onLine = NODES.some(
    (p) =>
      (Math.abs(y - p) <= LINE && x >= NODES[0] && x <= NODES[2]) ||
      (Math.abs(x - p) <= LINE && y >= NODES[0] && y <= NODES[2]),
  );
  for (const px of NODES) {
    for (const py of NODES) {
      if (Math.hypot(x - px, y - py) <= DOT) return px === 0.5 && py === 0.5 ? ACCENT : INK;
    }
  }
  return onLine ? INK : BACKGROUND;
}

function insideRoundedSquare(x, y, r) {
  const dx = Math.max(r - x, 0, x - (1 - r));
  const dy = Math.max(r - y, 0, y - (1 - r));
  return dx * dx + dy * dy <= r * r;
}

function render(size, options) {
  const rows = [];
  for (let j = 0; j < size; j++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let i = 0; i < size; i++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const colour = shade(
            (i + (sx + 0.5) / SAMPLES) / size,
            (j + (sy + 0.5) / SAMPLES) / size,
            options,
          );
          if (!colour) continue;
          r += colour[0];
          g += colour[1];
          b += colour[2];
          a += 1;
        }
      }
      const offset = 1 + i * 4;
      if (a > 0) {
        row[offset] = Math.round(r / a);
        row[offset + 1] = Math.round(g / a);
        row[offset + 2] = Math.round(b / a);
      }
      row[offset + 3] = Math.round((a / (SAMPLES * SAMPLES)) * 255);
    }
    rows.push(row);
  }
  return png(size, Buffer.concat(rows));
}

function png(size, raw) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

const icons = [
  ['icon-192.png', 192, { rounded: true }],
  ['icon-512.png', 512, { rounded: true }],
  // Maskable and Apple icons are cropped by the OS, so they fill the square.
  ['icon-maskable-512.png', 512, { rounded: false }],
  ['apple-touch-icon.png', 180, { rounded: false }],
];
for (const [name, size, options] of icons) {
  writeFileSync(join(out, name), render(size, options));
  console.log(`wrote public/${name}`);
}
