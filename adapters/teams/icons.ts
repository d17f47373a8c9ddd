import { crc32, deflateSync } from 'node:zlib';

type Rgba = readonly [number, number, number, number];

/** A shape in the unit square: how much of the point (x, y) it covers, 0 or 1. */
type Shape = (x: number, y: number) => boolean;

const BLUE: Rgba = [37, 99, 235, 255];
const WHITE: Rgba = [255, 255, 255, 255];

/** Slipway's mark: a boat on a ramp that runs down into the water. */
const rampTop = (x: number) => 0.6 - (x - 0.14) * 0.25;
const ramp: Shape = (x, y) => x > 0.14 && x < 0.86 && y > rampTop(x) && y < rampTop(x) + 0.075;
const hull: Shape = (x, y) =>
  y > 0.4 && y < rampTop(x) - 0.015 && x > 0.26 + (y - 0.4) * 0.9 && x < 0.76 - (y - 0.4) * 0.9;
const mast: Shape = (x, y) => x > 0.485 && x < 0.53 && y > 0.14 && y < 0.4;
const sail: Shape = (x, y) => x > 0.55 && y > 0.16 && y < 0.36 && x < 0.55 + (y - 0.16) * 0.9;
const water: Shape = (x, y) => x > 0.14 && x < 0.86 && Math.abs(y - (0.8 + Math.sin(x * 30) * 0.018)) < 0.03;
const mark: Shape = (x, y) => ramp(x, y) || hull(x, y) || mast(x, y) || sail(x, y) || water(x, y);

/** A rounded square filling the icon, for the colour icon's background. */
const tile: Shape = (x, y) => {
  const r = 0.2;
  const dx = Math.max(r - x, x - (1 - r), 0);
  const dy = Math.max(r - y, y - (1 - r), 0);
  return dx * dx + dy * dy <= r * r;
};

/** Renders layers (shape, colour; later ones on top) with 4×4 supersampling, as RGBA rows. */
function raster(size: number, layers: readonly (readonly [Shape, Rgba])[]): Buffer {
  const pixels = Buffer.alloc(size * size * 4);
  const samples = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) / size;
          const y = (py + (sy + 0.5) / samples) / size;
          let colour: Rgba = [0, 0, 0, 0];
          for (const [shape, fill] of layers) if (shape(x, y)) colour = fill;
          // Premultiplied, so transparent samples do not darken the edges.
          const a = colour[3] / 255;
          sum[0] = (sum[0] ?? 0) + colour[0] * a;
          sum[1] = (sum[1] ?? 0) + colour[1] * a;
          sum[2] = (sum[2] ?? 0) + colour[2] * a;
          sum[3] = (sum[3] ?? 0) + colour[3];
        }
      }
      const n = samples * samples;
      const alpha = (sum[3] ?? 0) / n;
      const offset = (py * size + px) * 4;
      const unpremultiply = (channel: number) => (alpha > 0 ? Math.round((channel / n) * (255 / alpha)) : 0);
      pixels[offset] = unpremultiply(sum[0] ?? 0);
      pixels[offset + 1] = unpremultiply(sum[1] ?? 0);
      pixels[offset + 2] = unpremultiply(sum[2] ?? 0);
      pixels[offset + 3] = Math.round(alpha);
    }
  }
  return pixels;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** RGBA pixels as a PNG (8-bit truecolour with alpha, no filtering). */
export function encodePng(size: number, pixels: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) pixels.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The Teams app's icons: a 192×192 colour icon and a 32×32 outline (white on transparent). */
export function teamsIcons(): { color: Buffer; outline: Buffer } {
  return {
    color: encodePng(
      192,
      raster(192, [
        [tile, BLUE],
        [mark, WHITE],
      ]),
    ),
    outline: encodePng(32, raster(32, [[mark, WHITE]])),
  };
}
