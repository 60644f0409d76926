// The daemon's API from the browser: the bearer token from sessionStorage, errors as ApiError
// { code, message }, NDJSON operations, and the SSE event stream read with fetch (EventSource cannot
// send the Authorization header, and a token in the URL would end up in logs).
const KEY = 'p2pbackup.token';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function token(): string | null {
  return sessionStorage.getItem(KEY);
}
export function setToken(t: string | null): void {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

interface CallOptions {
  method?: string;
  json?: unknown;
  /** Answer the Response itself (bytes, images). */
  raw?: boolean;
  /** The route answers NDJSON: events go here, the result is returned, an error line is thrown. */
  ndjson?: (event: { type: string; [k: string]: unknown }) => void;
  signal?: AbortSignal;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const b = JSON.parse(text);
    if (typeof b?.code === 'string') return new ApiError(b.code, b.message ?? b.code, res.status);
  } catch {}
  return new ApiError('ERR_HTTP', `HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
}

export async function api<T>(path: string, o: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token() ?? ''}` };
  if (o.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: o.method ?? 'GET', headers, body: o.json === undefined ? undefined : JSON.stringify(o.json), signal: o.signal });
  if (!res.ok) throw await errorOf(res);
  if (o.raw) return res as T;
  if (!o.ndjson) return (await res.json()) as T;
  for await (const line of lines(res)) {
    const m = JSON.parse(line);
    if (m.event) o.ndjson(m.event);
    else if (m.error) throw new ApiError(m.error.code, m.error.message, m.status ?? 500);
    else if ('result' in m) return m.result as T;
  }
  throw new ApiError('ERR_API', 'the operation ended without a result', 500);
}

async function* lines(res: Response, sep = '\n'): AsyncGenerator<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf(sep)) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + sep.length);
      if (line.trim()) yield line;
    }
  }
  if (buf.trim()) yield buf;
}

/** Follow /api/events; reconnects after a drop. `onOpen` runs at each (re)connection: what happened while
 *  the stream was down must be read afresh. Returns a function that stops it. */
export function events(onEvent: (e: { type: string; [k: string]: unknown }) => void, onError: (err: unknown) => void, onOpen?: () => void): () => void {
  const controller = new AbortController();
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const res = await api<Response>('/api/events', { raw: true, signal: controller.signal });
        onOpen?.();
        for await (const block of lines(res, '\n\n')) {
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (!data) continue;
          // A handler's bug must not drop the stream (every later event would be lost with it).
          try {
            onEvent(JSON.parse(data));
          } catch (err) {
            console.error('event handler failed', err);
          }
        }
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && err.code === 'ERR_UNAUTHORIZED') return onError(err);
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  };
  void run();
  return () => controller.abort();
}

/** Save a blob as a file through the browser's download machinery. */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
