// The one client of a daemon's API, for the CLI, the demo, the benches and tests: finds the API through
// HOME/daemon.json, authenticates with HOME/api-token, turns `{ code, message }` error bodies back into
// P2PBackupErrors, and runs long operations (NDJSON: progress events, then the result or the error).
// It imports nothing of the peer: the caller hands it the two paths (peer/home.ts's homePaths has them).
// const api = await ApiClient.forHome(homePaths(home));
// const folder = await api.operation('POST', '/api/backup', { path }, { onEvent: (e) => show(e) });
import { readFile } from 'node:fs/promises';
import { P2PBackupError } from '../common/errors.ts';
import { isErrorCode, type ErrorCode } from '../common/codes.ts';

/** What a running daemon writes to HOME/daemon.json. */
export interface DaemonInfo {
  pid: number;
  peerId: string;
  apiUrl: string;
  addresses: string[];
}

/** The files of a home the client reads (a subset of peer/home.ts's HomePaths). */
export interface ClientPaths {
  home: string;
  daemon: string;
  apiToken: string;
}

export interface RequestInit {
  body?: string | Uint8Array | ReadableStream;
  json?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export interface OperationOptions {
  /** Each progress event of the operation, in order. */
  onEvent?: (event: any) => void;
  signal?: AbortSignal;
}

export class ApiClient {
  readonly url: string;
  readonly token: string;
  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  /** The client of the daemon running for this home (ERR_NO_DAEMON when none is). */
  static async forHome(paths: ClientPaths): Promise<ApiClient> {
    let info: DaemonInfo;
    try {
      info = JSON.parse(await readFile(paths.daemon, 'utf8'));
    } catch {
      throw new P2PBackupError('ERR_NO_DAEMON', `no daemon is running for home ${paths.home}: start one with \`p2pbackup daemon --home ${paths.home}\``, {
        home: paths.home
      });
    }
    return new ApiClient(info.apiUrl, await readToken(paths.apiToken));
  }

  /** The client of a daemon whose API URL is known (a swarm member): the token comes from its home. */
  static async at(apiUrl: string, paths: Pick<ClientPaths, 'apiToken'>): Promise<ApiClient> {
    return new ApiClient(apiUrl, await readToken(paths.apiToken));
  }

  async request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...init.headers };
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    let res: Response;
    try {
      res = await fetch(this.url + path, { method, headers, body, signal: init.signal, duplex: 'half' } as globalThis.RequestInit);
    } catch (err: any) {
      if (err?.name === 'AbortError') throw err;
      throw new P2PBackupError(
        'ERR_NO_DAEMON',
        `cannot reach the daemon at ${this.url} (${err?.cause?.code ?? err?.message}): is \`p2pbackup daemon\` running?`,
        { url: this.url }
      );
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  async json<T>(method: string, path: string, json?: unknown): Promise<T> {
    const res = await this.request(method, path, { json });
    return (await res.json()) as T;
  }

  /**
   * A long-running operation (backup, restore, check, put with ?progress=1): its progress events go to
   * `onEvent` as they arrive; resolves with its result, rejects with its error as a P2PBackupError.
   */
  async operation(method: string, path: string, json: unknown, o: OperationOptions = {}): Promise<any> {
    const res = await this.request(method, path, { json, signal: o.signal });
    for await (const line of ndjsonLines(res)) {
      if (line.event !== undefined) o.onEvent?.(line.event);
      else if (line.error) throw errorFromLine(line.error);
      else if ('result' in line) return line.result;
    }
    throw new P2PBackupError('ERR_API', `the daemon closed ${path} without a result`);
  }
}

async function readToken(path: string): Promise<string> {
  return (await readFile(path, 'utf8').catch(() => '')).trim();
}

/** The JSON lines of an NDJSON response, as they arrive. */
export async function* ndjsonLines(res: Response): AsyncGenerator<any> {
  let pending = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim()) yield JSON.parse(line);
    }
  }
  pending += decoder.decode();
  if (pending.trim()) yield JSON.parse(pending);
}

/** An error response's `{ code, message, details }` body as a P2PBackupError. */
export async function errorFrom(res: Response): Promise<P2PBackupError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    if (typeof body?.code === 'string') return new P2PBackupError(knownCode(body.code), body.message ?? body.code, body.details ?? {});
  } catch {}
  return new P2PBackupError('ERR_API', `daemon answered HTTP ${res.status}: ${text.slice(0, 200)}`);
}

/** Turn an NDJSON stream's error line back into an error. */
export function errorFromLine(e: { code: string; message: string; details?: Record<string, unknown> }): P2PBackupError {
  return new P2PBackupError(knownCode(e.code), e.message, e.details ?? {});
}

/** A code from the daemon's answer (a newer daemon may send one this CLI does not know: ERR_API, exit 1). */
function knownCode(code: unknown): ErrorCode {
  return isErrorCode(code) ? code : 'ERR_API';
}
