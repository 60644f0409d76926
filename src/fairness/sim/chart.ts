// A hand-written SVG line chart of welfare against heterogeneity (log x axis), threshold marked.
import type { IncentivesResult } from './incentives.ts';

const W = 720;
const H = 440;
const M = { left: 70, right: 150, top: 40, bottom: 60 };
const SERIES = [
  { key: 'optimum', label: 'social optimum', color: '#2a7f2a', dash: '' },
  { key: 'symmetric', label: 'symmetric scheme', color: '#1f5fbf', dash: '' },
  { key: 'monopoly', label: 'monopoly', color: '#c0392b', dash: '6 4' }
] as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(r: IncentivesResult): string {
  const pts = r.points;
  const xs = pts.map((p) => Math.log10(p.heterogeneity));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
  const yMax = Math.max(...pts.flatMap((p) => [p.welfare.optimum, p.welfare.symmetric, p.welfare.monopoly]), 1e-9) * 1.05;
  const px = (lx: number) => M.left + ((lx - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - M.right / 2 + M.left / 2}" y="22" text-anchor="middle" font-size="14">Welfare per user, n/k = ${r.model.ratio.toFixed(3)}, a ~ Exp(${r.model.meanA})</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`
  ];
  for (let d = Math.ceil(x0 - 1e-9); d <= Math.floor(x1 + 1e-9); d++) {
    for (const m of [1, 2, 5]) {
      const lx = d + Math.log10(m);
      if (lx < x0 - 1e-9 || lx > x1 + 1e-9) continue;
      out.push(`<line x1="${px(lx).toFixed(1)}" y1="${H - M.bottom}" x2="${px(lx).toFixed(1)}" y2="${H - M.bottom + 5}" stroke="black"/>`);
      out.push(`<text x="${px(lx).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle">${+(10 ** lx).toPrecision(2)}</text>`);
    }
  }
  for (let i = 0; i <= 5; i++) {
    const y = (yMax / 5) * i;
    out.push(`<line x1="${M.left - 5}" y1="${py(y).toFixed(1)}" x2="${W - M.right}" y2="${py(y).toFixed(1)}" stroke="${i ? '#eee' : 'black'}"/>`);
    out.push(`<text x="${M.left - 8}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(2)}</text>`);
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 18}" text-anchor="middle">heterogeneity h = (n/k) · mean cost / mean value (log scale)</text>`);
  out.push(`<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">welfare per user</text>`);
  if (r.threshold !== null) {
    const tx = px(Math.log10(r.threshold));
    out.push(`<line x1="${tx.toFixed(1)}" y1="${M.top}" x2="${tx.toFixed(1)}" y2="${H - M.bottom}" stroke="#888" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${(tx + 4).toFixed(1)}" y="${M.top + 12}" fill="#555">h* = ${r.threshold.toFixed(3)}</text>`);
  }
  SERIES.forEach((s, i) => {
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${px(xs[j]).toFixed(1)},${py(p.welfare[s.key]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    const ly = M.top + 20 + i * 20;
    out.push(
      `<line x1="${W - M.right + 12}" y1="${ly}" x2="${W - M.right + 36}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`
    );
    out.push(`<text x="${W - M.right + 40}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
