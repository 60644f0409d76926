// The CLI as a client of its home's daemon: finds the API through HOME/daemon.json, authenticates with
// HOME/api-token, and turns `{ code, message }` error bodies back into P2PBackupErrors.
import { readFile } from 'node:fs/promises';
import { P2PBackupError } from '../common/errors.ts';
import { isErrorCode, type ErrorCode } from '../common/codes.ts';
import { homePaths } from '../peer/home.ts';

export interface DaemonInfo {
  pid: number;
  peerId: string;
  apiUrl: string;
  addresses: string[];
}

export class ApiClient {
  readonly url: string;
  readonly token: string;
  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  static async forHome(home: string): Promise<ApiClient> {
    const paths = homePaths(home);
    let info: DaemonInfo;
    try {
      info = JSON.parse(await readFile(paths.daemon, 'utf8'));
    } catch {
      throw new P2PBackupError('ERR_NO_DAEMON', `no daemon is running for home ${home}: start one with \`p2pbackup daemon --home ${home}\``, { home });
    }
    const token = (await readFile(paths.apiToken, 'utf8').catch(() => '')).trim();
    return new ApiClient(info.apiUrl, token);
  }

  async request(method: string, path: string, init: { body?: string | Uint8Array | ReadableStream; json?: unknown; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...init.headers };
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    let res: Response;
    try {
      res = await fetch(this.url + path, { method, headers, body, signal: init.signal, duplex: 'half' } as RequestInit);
    } catch (err: any) {
      if (err?.name === 'AbortError') throw err;
      throw new P2PBackupError('ERR_NO_DAEMON', `cannot reach the daemon at ${this.url} (${err?.cause?.code ?? err?.message}): is \`p2pbackup daemon\` running?`, { url: this.url });
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  async json<T>(method: string, path: string, json?: unknown): Promise<T> {
    const res = await this.request(method, path, { json });
    return (await res.json()) as T;
  }
}

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
