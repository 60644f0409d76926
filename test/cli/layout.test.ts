// The CLI's walls: bin.ts alone touches the process (argv, exit, env, the console and its streams);
// every other module of src/cli gets them as a CliIo, so commands can run against any streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await sources(join(dir, e.name))));
    else if (e.name.endsWith('.ts')) out.push(join(dir, e.name));
  }
  return out;
}

test('only src/cli/bin.ts touches process or console', async () => {
  const files = await sources(CLI);
  assert.ok(
    files.some((f) => f.endsWith('commands/restore.ts')),
    'the commands are found'
  );
  const offenders: string[] = [];
  for (const f of files) {
    if (relative(CLI, f) === 'bin.ts') continue;
    (await readFile(f, 'utf8')).split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, ''); // comments may name them
      if (/\b(process|console)\s*\./.test(code)) offenders.push(`src/cli/${relative(CLI, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});
