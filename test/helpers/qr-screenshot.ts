/**
 * Reading a QR code back out of a screenshot: sample the centre of every module inside the
 * image's box, then compare the dark/light grid with the code the `qrcode` package makes for a
 * payload (the login page draws it with the same package and options). A full match means the
 * screenshot shows exactly the QR code of that payload; codes of other payloads differ in about
 * half their modules.
 */
import QRCode from 'qrcode';
import { QR_ERROR_CORRECTION, QR_MARGIN } from '../../shared/src/web/qr-svg.js';
import { decodePng, luminance, type DecodedPng } from './png.js';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The module grid of `data`'s QR code: true = dark. */
export function expectedModules(data: string): boolean[][] {
  const { modules } = QRCode.create(data, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  return Array.from({ length: modules.size }, (_, r) => Array.from({ length: modules.size }, (_, c) => !!modules.get(r, c)));
}

/**
 * Samples `size` x `size` modules from the QR image at `box` (screenshot pixels), which holds
 * the code plus its quiet zone; also checks the quiet zone is light.
 */
export function sampleModules(img: DecodedPng, box: Box, size: number): { grid: boolean[][]; quietZoneDark: number } {
  const total = size + 2 * QR_MARGIN;
  const cell = box.width / total;
  const cellY = box.height / total;
  const dark = (col: number, row: number) => luminance(img, box.x + (col + 0.5) * cell, box.y + (row + 0.5) * cellY) < 128;
  const grid = Array.from({ length: size }, (_, r) => Array.from({ length: size }, (_, c) => dark(c + QR_MARGIN, r + QR_MARGIN)));
  let quietZoneDark = 0;
  for (let i = 0; i < total; i++) {
    for (const [c, r] of [[i, 0], [i, total - 1], [0, i], [total - 1, i]] as const) if (dark(c, r)) quietZoneDark++;
  }
  return { grid, quietZoneDark };
}

/** How many modules of the screenshot's QR code differ from `data`'s (0: it is that code). */
export function qrMismatches(png: Buffer, box: Box, data: string): number {
  const want = expectedModules(data);
  const { grid, quietZoneDark } = sampleModules(decodePng(png), box, want.length);
  let diff = quietZoneDark;
  for (let r = 0; r < want.length; r++) for (let c = 0; c < want.length; c++) if (grid[r]![c] !== want[r]![c]) diff++;
  return diff;
}
