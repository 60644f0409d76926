// Charts drawn as SVG by the UI's own code (no library, no CDN): the bytes each snapshot added on a time
// axis, and a peer's balance (what it stores for me against what I store for it). Each chart is an image
// with a text alternative (role="img", aria-label) and a <title> per mark for the pointer; colours are
// from the Okabe-Ito set (told apart with colour-blindness) and never the only carrier of meaning.
import { fmtBytes, fmtTime, s } from './dom.ts';

export const COLOURS = { forMe: '#0072b2', forThem: '#d55e00', bar: '#0072b2', missing: '#6b7480', axis: '#59626e' } as const;

const MIN_BAR_PX = 2; // a bar for a few bytes is still a visible mark
const VALUE_LABELS_MAX = 12; // bars labelled with their value up to this many snapshots

export interface TimelinePoint {
  time: number;
  added: number | null;
  label: string;
}

/** One bar per snapshot at its time, as tall as the bytes it added (a hollow mark when not recorded). */
export function addedTimeline(points: TimelinePoint[], o: { width?: number; height?: number } = {}): SVGElement {
  const W = o.width ?? 640,
    H = o.height ?? 140,
    left = 56,
    right = 12,
    top = 10,
    bottom = 30;
  const t0 = Math.min(...points.map((p) => p.time)),
    t1 = Math.max(...points.map((p) => p.time));
  const max = Math.max(1, ...points.map((p) => p.added ?? 0));
  const barW = Math.max(3, Math.min(24, (W - left - right) / Math.max(1, points.length) / 2));
  // Bars stay clear of the axis labels: the first and last are a bar's width inside the plot.
  const x0 = left + barW,
    x1 = W - right - barW;
  const x = (t: number) => (t1 === t0 ? (x0 + x1) / 2 : x0 + ((t - t0) / (t1 - t0)) * (x1 - x0));
  const y = (v: number) => top + (H - top - bottom) * (1 - v / max);
  const labelled = points.length <= VALUE_LABELS_MAX;
  const recorded = points.filter((p) => p.added !== null);
  const total = recorded.reduce((a, p) => a + p.added!, 0);
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart',
    role: 'img',
    'data-points': points.length,
    'aria-label': `Bytes added per snapshot: ${points.length} snapshots from ${fmtTime(t0)} to ${fmtTime(t1)}; ${fmtBytes(total)} added in all${recorded.length < points.length ? ` (${points.length - recorded.length} did not record it)` : ''}.`
  });
  svg.append(
    s('line', { x1: left, x2: W - right, y1: y(0), y2: y(0), stroke: COLOURS.axis }),
    s('text', { x: left - 6, y: y(max) + 4, 'text-anchor': 'end', class: 'tick' }, fmtBytes(max)),
    s('text', { x: left - 6, y: y(0) + 4, 'text-anchor': 'end', class: 'tick' }, '0'),
    s('text', { x: left, y: H - 8, class: 'tick' }, fmtTime(t0)),
    ...(t1 !== t0 ? [s('text', { x: W - right, y: H - 8, 'text-anchor': 'end', class: 'tick' }, fmtTime(t1))] : [])
  );
  for (const p of points) {
    const title = s('title', {}, `${p.label}: ${p.added === null ? 'bytes added not recorded' : `${fmtBytes(p.added)} added`}`);
    if (p.added === null) {
      svg.append(
        s(
          'rect',
          { x: x(p.time) - barW / 2, y: y(0) - 8, width: barW, height: 8, fill: 'none', stroke: COLOURS.missing, 'stroke-dasharray': '2 2', class: 'mark' },
          title
        )
      );
    } else {
      const hgt = Math.max(MIN_BAR_PX, y(0) - y(p.added));
      svg.append(s('rect', { x: x(p.time) - barW / 2, y: y(0) - hgt, width: barW, height: hgt, fill: COLOURS.bar, class: 'mark' }, title));
    }
    // Few bars: each says its value (a small one next to a tall one is otherwise a hairline).
    if (labelled && p.added !== null && p.added < max)
      svg.append(s('text', { x: x(p.time), y: Math.max(top + 8, y(p.added) - 4 - MIN_BAR_PX), 'text-anchor': 'middle', class: 'tick' }, fmtBytes(p.added)));
  }
  return svg;
}

/** What a peer stores for me (right, blue) against what I store for it (left, vermilion), on a shared scale. */
export function balanceBar(forMe: number, forThem: number, max: number, o: { width?: number; height?: number } = {}): SVGElement {
  const W = o.width ?? 160,
    H = o.height ?? 14,
    mid = W / 2;
  const scale = (v: number) => (max > 0 ? (v / max) * (mid - 1) : 0);
  const label = `stores ${fmtBytes(forMe)} for me; I store ${fmtBytes(forThem)} for it`;
  return s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'balance', role: 'img', 'aria-label': label },
    s('title', {}, label),
    s('rect', { x: mid - scale(forThem), y: 2, width: scale(forThem), height: H - 4, fill: COLOURS.forThem }),
    s('rect', { x: mid, y: 2, width: scale(forMe), height: H - 4, fill: COLOURS.forMe }),
    s('line', { x1: mid, x2: mid, y1: 0, y2: H, stroke: COLOURS.axis })
  );
}
