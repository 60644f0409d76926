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
