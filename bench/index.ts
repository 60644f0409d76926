// Bench dispatcher: `node bench/index.ts <name> [args]` runs bench/<name>.ts's exported run(argv).
// npm run bench -- transfer-stream --size 64MiB
// (minimal version from the net branch; to be reconciled with the bench branch's dispatcher on merge)
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [name, ...rest] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
if (!name || !/^[a-z0-9-]+$/.test(name) || !existsSync(join(here, `${name}.ts`))) {
  process.stderr.write(`usage: node bench/index.ts <name> [args]   (bench/<name>.ts must exist)\n`);
  process.exit(2);
}
const mod = await import(pathToFileURL(join(here, `${name}.ts`)).href) as { run(argv: string[]): Promise<unknown> };
await mod.run(rest);
