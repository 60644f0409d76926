// A node:test reporter that prints how long each test file took (its whole process, load included),
// slowest first, after the run: `npm test` uses it beside the usual spec/TAP output so slow files show.
import { relative, resolve } from 'node:path';

interface FileEvent {
  type: string;
  data: { name: string; nesting: number; file?: string; details?: { duration_ms?: number; passed?: boolean } };
}

export default async function* fileTimes(source: AsyncIterable<FileEvent>): AsyncGenerator<string> {
  const files = new Map<string, { ms: number; ok: boolean }>();
  for await (const e of source) {
    // With process isolation each file runs in its own process, reported as a top-level test named
    // after the file whose duration is the process's.
    if (e.type !== 'test:complete' || e.data.nesting !== 0 || !e.data.file || resolve(e.data.name) !== e.data.file) continue;
    files.set(relative(process.cwd(), e.data.file), { ms: e.data.details?.duration_ms ?? 0, ok: e.data.details?.passed !== false });
  }
  if (!files.size) return;
  // '#' lines: comments in TAP, plain text under spec.
  yield `# time per test file (${files.size} file${files.size === 1 ? '' : 's'}), slowest first\n`;
  for (const [file, { ms, ok }] of [...files].sort((a, b) => b[1].ms - a[1].ms)) {
    yield `# ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}${ok ? '' : '  (failed)'}\n`;
  }
}
