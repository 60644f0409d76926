// What every command is given: the process's streams and environment (handed down by bin.ts, the only
// module that touches the real ones), the global options, the API client of the home's daemon, result
// output (`--json` or text), option parsers, and cap arguments that may come from stdin or a file.
import type { Command } from 'commander';
import { open } from 'node:fs/promises';
import { P2PBackupError } from '../common/errors.ts';
import { ApiClient } from '../api/client.ts';
import { homePaths, resolveHome } from '../peer/home.ts';

/** The process as a command sees it. bin.ts passes the real one; nothing else in src/cli touches `process`. */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  pid: number;
  /** The exit code when the command returns without throwing (a partly failed restore, an unrecoverable check). */
  setExitCode(code: number): void;
}

export interface Globals {
  home?: string;
  json?: boolean;
}

export interface Context {
  io: CliIo;
  json(): boolean;
  home(): string;
  /** The client of this home's daemon (ERR_NO_DAEMON when none runs). */
  api(): Promise<ApiClient>;
  /** A command's result on stdout: one JSON line under --json, else `human()`. */
  out(obj: unknown, human: () => string): void;
}

export function createContext(program: Command, io: CliIo): Context {
  const globals = () => program.opts<Globals>();
  const home = () => resolveHome(globals().home, io.env);
  return {
    io,
    json: () => globals().json === true,
    home,
    api: () => ApiClient.forHome(homePaths(home())),
    out(obj, human) {
      io.stdout.write(globals().json ? JSON.stringify(obj) + '\n' : human() + '\n');
    }
  };
}

export function intOption(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new P2PBackupError('ERR_USAGE', `${name} must be a whole number, got "${v}"`);
    return Number(v);
  };
}

export function numOption(name: string) {
  return (v: string) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new P2PBackupError('ERR_USAGE', `${name} must be a number, got "${v}"`);
    return x;
  };
}

/** A repeatable option's values, in order. */
export const collect = (v: string, prev: string[] = []) => [...prev, v];

export const isCap = (s: string) => s.startsWith('p2pb:');

// ---- caps off the command line ------------------------------------------------------------------------
// A cap on the command line is visible to every local user in /proc/PID/cmdline and stays in the shell's
// history; a recovery or root cap grants everything. So every cap argument may instead be `-` (the next
// line of stdin) or come from `--cap-file FILE`.

/** Bytes read at most from stdin or a cap file: a cap is a few hundred characters, so a wrong file
 *  (a photo, /dev/zero) is refused after this much instead of filling memory. */
export const MAX_CAP_INPUT_BYTES = 16 * 1024;

export const CAP_INPUT_HELP =
  'Any cap argument may be "-" (read one line from stdin) or come from --cap-file FILE, keeping it off the command line and out of shell history.';

/** Add `--cap-file <file>` to a command that takes caps (`count` of them: repeatable up to that). */
export function withCapFile(cmd: Command, count = 1): Command {
  const what =
    count > 1 ? 'read a cap from this file instead of the command line (once per cap, in order)' : 'read the cap from this file instead of the command line';
  return cmd.option('--cap-file <file>', what, collect).addHelpText('after', `\n${CAP_INPUT_HELP}`);
}

/**
 * The cap arguments of a command and the positional arguments after them. The command declares `count`
 * cap arguments first (all optional to commander); each `--cap-file` stands for one of them, in order,
 * and the positionals given shift right. Each `-` reads the next line of stdin.
 */
export async function resolveCaps(
  io: CliIo,
  count: number,
  positionals: (string | undefined)[],
  capFiles: string[] = []
): Promise<{ caps: string[]; rest: (string | undefined)[] }> {
  if (capFiles.length > count)
    throw new P2PBackupError('ERR_USAGE', `--cap-file given ${capFiles.length} times, but this command takes ${count} cap${count > 1 ? 's' : ''}`);
  const given = [...positionals];
  while (given.length && given.at(-1) === undefined) given.pop();
  const fromArgs = given.slice(0, count - capFiles.length);
  const rest = given.slice(count - capFiles.length);
  const caps: string[] = [];
  for (const file of capFiles) caps.push(await readCapFile(file));
  let stdin: LineReader | null = null;
  try {
    for (let i = 0; i < count - capFiles.length; i++) {
      const arg = fromArgs[i];
      if (arg === '-') caps.push(await (stdin ??= lineReader(io)).cap());
      else if (arg === undefined || arg === '')
        throw new P2PBackupError('ERR_USAGE', 'missing cap argument: give it as an argument, as "-" to read it from stdin, or with --cap-file FILE');
      else caps.push(arg);
    }
  } finally {
    await stdin?.close();
  }
  return { caps, rest };
}

async function readCapFile(path: string): Promise<string> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      // Sequential reads (position null), so a pipe works too: `--cap-file <(pass show backup-cap)`.
      const buf = Buffer.alloc(MAX_CAP_INPUT_BYTES + 1);
      let got = 0;
      for (let n; (n = (await fh.read(buf, got, buf.length - got, null)).bytesRead) > 0;) {
        got += n;
        if (got > MAX_CAP_INPUT_BYTES) throw new P2PBackupError('ERR_USAGE', `cap file ${path} is larger than ${MAX_CAP_INPUT_BYTES} bytes: not a cap`);
      }
      text = buf.subarray(0, got).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err: any) {
    if (err instanceof P2PBackupError) throw err;
    throw new P2PBackupError('ERR_USAGE', `cannot read cap file ${path}: ${err?.code ?? err?.message}`, { path });
  }
  const found = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (found.length !== 1)
    throw new P2PBackupError('ERR_USAGE', `cap file ${path} must hold exactly one cap on one line (found ${found.length} lines)`, { path });
  return found[0];
}

interface LineReader {
  /** The next non-empty line of stdin, trimmed. */
  cap(): Promise<string>;
  close(): Promise<void>;
}

/** Lines of stdin, read only as far as needed (a terminal is asked for one line at a time). */
function lineReader(io: CliIo): LineReader {
  const it = (io.stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const decoder = new TextDecoder();
  let buf = '';
  let total = 0;
  let ended = false;
  return {
    async cap() {
      if (io.stdin.isTTY) io.stderr.write('cap: ');
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl >= 0 || (ended && buf)) {
          const line = (nl >= 0 ? buf.slice(0, nl) : buf).trim();
          buf = nl >= 0 ? buf.slice(nl + 1) : '';
          if (line) return line;
          continue;
        }
        if (ended) throw new P2PBackupError('ERR_USAGE', 'a cap argument is "-" but stdin ended before a cap line');
        const r = await it.next();
        if (r.done) {
          ended = true;
          buf += decoder.decode();
          continue;
        }
        total += r.value.length;
        if (total > MAX_CAP_INPUT_BYTES) throw new P2PBackupError('ERR_USAGE', `more than ${MAX_CAP_INPUT_BYTES} bytes on stdin before a cap line: not a cap`);
        buf += typeof r.value === 'string' ? r.value : decoder.decode(r.value, { stream: true });
      }
    },
    // Stop reading (a terminal's stdin would otherwise keep the process alive).
    async close() {
      await it.return?.();
    }
  };
}
