// A few DOM helpers: build elements from a tag, attributes and children (HTML and SVG); format sizes,
// times, durations and rates for people.
type Child = Node | string;

export function h(tag: string, attrs: Record<string, string | boolean | number> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    if (k === 'checked' || k === 'readonly' || k === 'required') (el as any)[k === 'readonly' ? 'readOnly' : k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) el.append(c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** An SVG element (presentation attributes only: the page's CSP allows no inline style). */
export function s(tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

export function clear(el: Element): void {
  el.replaceChildren();
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtTime(ms: number): string {
  return new Date(ms).toLocaleString();
}

/** "45 s", "3 min", "2 h 5 min", "3 d". */
export function fmtDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) {
    const m = Math.round((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ''}`;
  }
  return `${Math.round(s / 86400)} d`;
}

/** "just now", "3 min ago". */
export function fmtAgo(ms: number, now = Date.now()): string {
  const s = (now - ms) / 1000;
  return s < 10 ? 'just now' : `${fmtDuration(s)} ago`;
}

/** A peer id as people can tell them apart: its last characters. */
export function shortPeer(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}
