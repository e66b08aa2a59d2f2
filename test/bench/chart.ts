/**
 * bench/results.png: the ratios against their targets, drawn as an SVG and rendered with resvg.
 * Top panel: ratio to the baseline (a tick marks the target where the goal is a ratio). Bottom
 * panel: goals in absolute units, as value / limit (the tick at 1 is the limit). Green = goal met.
 * Labels need a font file; without one the chart has bars only (the table has the numbers).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { targetText, type Metric } from './metrics.js';

const W = 1100;
const LABEL_W = 470;
const BAR_W = 420;
const ROW_H = 26;

function findFont(): string | undefined {
  const preferred = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
  if (existsSync(preferred)) return preferred;
  const walk = (dir: string, depth: number): string | undefined => {
    if (depth > 4 || !existsSync(dir)) return undefined;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isFile() && /\.(ttf|otf)$/i.test(e.name)) return p;
      if (e.isDirectory()) {
        const found = walk(p, depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk('/usr/share/fonts', 0);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Row { label: string; bar: number; tick: number | undefined; met: boolean | null; text: string }

function panel(title: string, rows: Row[], y0: number, max: number, withText: boolean): { svg: string; height: number } {
  const parts: string[] = [];
  const x = (v: number) => LABEL_W + (Math.max(0, Math.min(v, max)) / max) * BAR_W;
  if (withText) parts.push(`<text x="10" y="${y0 + 18}" font-size="15" font-weight="bold">${esc(title)}</text>`);
  const top = y0 + 28;
  for (let g = 0; g <= max; g += max > 2 ? 1 : 0.5) {
    parts.push(`<line x1="${x(g)}" y1="${top}" x2="${x(g)}" y2="${top + rows.length * ROW_H}" stroke="#ddd"/>`);
    if (withText) parts.push(`<text x="${x(g)}" y="${top + rows.length * ROW_H + 14}" font-size="11" text-anchor="middle" fill="#555">${g}</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * ROW_H;
    const color = r.met === null ? '#8aa4c8' : r.met ? '#3a9d5d' : '#d0473c';
    parts.push(`<rect x="${LABEL_W}" y="${y + 5}" width="${Math.max(1, x(r.bar) - LABEL_W)}" height="${ROW_H - 10}" fill="${color}"/>`);
    if (r.bar > max) parts.push(`<path d="M${x(max) - 8} ${y + 4} l8 ${ROW_H / 2 - 4} l-8 ${ROW_H / 2 - 4}z" fill="#222"/>`);
    if (r.tick !== undefined) parts.push(`<line x1="${x(r.tick)}" y1="${y + 1}" x2="${x(r.tick)}" y2="${y + ROW_H - 1}" stroke="#111" stroke-width="3"/>`);
    if (withText) {
      parts.push(`<text x="${LABEL_W - 8}" y="${y + 17}" font-size="12" text-anchor="end">${esc(r.label)}</text>`);
      parts.push(`<text x="${LABEL_W + BAR_W + 10}" y="${y + 17}" font-size="12">${esc(r.text)}</text>`);
    }
  });
  return { svg: parts.join('\n'), height: 28 + rows.length * ROW_H + 24 };
}

export function chartSvg(metrics: Metric[], withText = true): string {
  const withData = metrics.filter((m) => m.ratio !== null || m.value !== null);
  const ratioRows: Row[] = withData.filter((m) => m.ratio !== null).map((m) => ({
    label: m.name, bar: m.ratio!, met: m.target.kind.startsWith('ratio') ? m.met : null,
    tick: m.target.kind === 'ratio-min' || m.target.kind === 'ratio-max' ? m.target.limit : undefined,
    text: `${m.ratio}${m.target.kind.startsWith('ratio') ? ` (${targetText(m.target)})` : ''}`,
  }));
  const absRows: Row[] = withData.filter((m) => m.target.kind === 'value-max' && m.value !== null).map((m) => {
    const limit = (m.target as { limit: number }).limit;
    return { label: m.name, bar: m.value! / limit, tick: 1, met: m.met, text: `${m.value} ${m.unit} (${targetText(m.target)})` };
  });
  const maxRatio = Math.min(5, Math.max(2, Math.ceil(Math.max(0, ...ratioRows.map((r) => r.tick ?? 0), ...ratioRows.map((r) => Math.min(r.bar, 5))))));
  const a = panel('Ratio to the baseline measured in the same run (tick: target)', ratioRows, 0, maxRatio, withText);
  const b = panel('Goals in absolute units: value / limit (tick at 1: the limit; shorter is better)', absRows, a.height + 10, 2, withText);
  const height = a.height + b.height + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="DejaVu Sans, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${a.svg}
${b.svg}
</svg>`;
}

export function renderChart(metrics: Metric[]): Buffer {
  const font = findFont();
  const svg = chartSvg(metrics, font !== undefined);
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    font: font ? { fontFiles: [font], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' } : { loadSystemFonts: false },
  });
  return Buffer.from(resvg.render().asPng());
}
