// Progress bars on stderr for long transfers (only when stderr is a terminal and --json is off),
// so stdout carries only results: `CAP=$(p2pbackup put f)` works.
import cliProgress from 'cli-progress';

export interface Progress {
  update(event: { type: string; bytes?: unknown }): void;
  stop(): void;
}

export function createProgress(label: string, total: number, quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY || total === 0) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | {speed} MB/s | ETA {eta_formatted}`,
    hideCursor: true
  }, cliProgress.Presets.shades_classic);
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

/** A one-line status for backup and restore on a terminal (stderr): files, bytes, rate, elapsed. */
export interface Status {
  event(e: { type: string; size?: unknown; status?: unknown; path?: unknown; error?: unknown }): void;
  stop(): void;
  summary(): { files: number; bytes: number; errors: { path: string; error: string }[]; seconds: number };
  line(): string;
}

export function createStatus(quiet: boolean): Status {
  const started = Date.now();
  let files = 0;
  let bytes = 0;
  let changed = 0;
  const errors: { path: string; error: string }[] = [];
  const tty = !quiet && process.stderr.isTTY;
  let last = 0;
  const render = () => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    return `${files} files (${changed} new or changed), ${(bytes / 1e6).toFixed(1)} MB, ${(bytes / 1e6 / secs).toFixed(1)} MB/s, ${secs.toFixed(1)} s${errors.length ? `, ${errors.length} errors` : ''}`;
  };
  return {
    event(e) {
      if (e.type.endsWith(':file')) {
        files++;
        if (typeof e.size === 'number') bytes += e.size;
        if (e.status === 'new' || e.status === 'written') changed++;
      } else if (e.type.endsWith(':item-error')) {
        errors.push({ path: String(e.path), error: String(e.error) });
        if (!quiet) process.stderr.write(`\rskipped ${String(e.path)}: ${String(e.error)}\n`);
      }
      if (tty && Date.now() - last > 100) {
        last = Date.now();
        process.stderr.write(`\r\x1b[K${render()}`);
      }
    },
    stop() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
    summary: () => ({ files, bytes, errors, seconds: (Date.now() - started) / 1000 }),
    line: render
  };
}
