// A few DOM helpers: build elements from a tag, attributes and children; format sizes and times.
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

export function clear(el: Element): void {
  el.replaceChildren();
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtTime(ms: number): string {
  return new Date(ms).toLocaleString();
}
