// Progress bars on stderr for long transfers (only when stderr is a terminal and --json is off),
// so stdout carries only results: `CAP=$(p2pbackup put f)` works. The streams are the ones bin.ts hands
// down (context.ts); paths in status lines are made printable (render.ts).
import cliProgress from 'cli-progress';
import type { CliIo } from './context.ts';
import { printable } from './render.ts';

export interface Progress {
  update(event: { type: string; bytes?: unknown }): void;
  stop(): void;
}

export function createProgress(io: Pick<CliIo, 'stderr'>, label: string, total: number, quiet: boolean): Progress {
  if (quiet || !io.stderr.isTTY || total === 0) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr as NodeJS.WriteStream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | {speed} MB/s | ETA {eta_formatted}`,
      hideCursor: true
    },
    cliProgress.Presets.shades_classic
  );
  const started = Date.now();
  bar.start(total, 0, { speed: '0.0' });
  return {
    update(event) {
      if (typeof event.bytes !== 'number') return;
      const secs = (Date.now() - started) / 1000;
      bar.update(Math.min(event.bytes, total), { speed: secs > 0 ? (event.bytes / secs / 1e6).toFixed(1) : '0.0' });
    },
    stop() {
      bar.stop();
    }
  };
}

/** A one-line status for backup and restore on a terminal (stderr), from the daemon's status events:
 *  files and bytes (of the totals once known), rate, elapsed, ETA. */
export interface Status {
  event(e: { type: string; [k: string]: unknown }): void;
  stop(): void;
  summary(): { files: number; bytes: number; errors: { path: string; error: string }[]; seconds: number };
  line(): string;
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export function formatStatus(
  s: { files: number; bytes: number; totalFiles?: number; totalBytes?: number; bytesPerSecond: number; etaSeconds?: number },
  seconds: number
): string {
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const files = s.totalFiles !== undefined ? `${s.files} of ${s.totalFiles} files` : `${s.files} files`;
  const bytes = s.totalBytes !== undefined ? `${mb(s.bytes)} of ${mb(s.totalBytes)} MB` : `${mb(s.bytes)} MB`;
  const eta = s.etaSeconds !== undefined ? `, ETA ${formatDuration(s.etaSeconds)}` : '';
  return `${files}, ${bytes}, ${mb(s.bytesPerSecond)} MB/s, ${formatDuration(seconds)} elapsed${eta}`;
}

export function createStatus(io: Pick<CliIo, 'stdout' | 'stderr'>, quiet: boolean, verbose = false): Status {
  const started = Date.now();
  let last = { files: 0, bytes: 0, bytesPerSecond: 0 } as Parameters<typeof formatStatus>[0];
  const errors: { path: string; error: string }[] = [];
  const tty = !quiet && io.stderr.isTTY === true;
  const render = () => formatStatus(last, (Date.now() - started) / 1000);
  return {
    event(e) {
      if (e.type.endsWith(':status')) {
        last = e as unknown as typeof last;
        if (tty) io.stderr.write(`\r\x1b[K${render()}`);
      } else if (e.type.endsWith(':item-error')) {
        errors.push({ path: String(e.path), error: String(e.error) });
        if (!quiet) io.stderr.write(`\r\x1b[Kskipped ${printable(e.path)}: ${printable(e.error)}\n`);
      } else if (verbose && !quiet && typeof e.path === 'string' && (e.type.endsWith(':file') || e.type.endsWith(':dir') || e.type.endsWith(':excluded'))) {
        const what = e.type.endsWith(':excluded') ? 'excluded' : String(e.status ?? e.type.split(':').pop());
        io.stdout.write(`${printable(what)} ${printable(e.path)}\n`);
      }
    },
    stop() {
      if (tty) io.stderr.write('\r\x1b[K');
    },
    summary: () => ({ files: last.files, bytes: last.bytes, errors, seconds: (Date.now() - started) / 1000 }),
    line: render
  };
}
