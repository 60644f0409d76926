// One prune of a grid kept on disk, in its own process (test/repo/prune.test.ts kills it at fault points with
// P2PBACKUP_FAULT). argv: grid dir, owner secret (hex), head file.
import { createGrid } from '../backup/grid.ts';
import { fileHeadStore } from '../backup/heads.ts';
import { pruneRepository } from '../../src/backup/index.ts';

const [dir, secretHex, headFile] = process.argv.slice(2);
const grid = await createGrid({ dir, secret: Uint8Array.from(Buffer.from(secretHex, 'hex')), keep: true });
const heads = fileHeadStore(headFile);
const report = await pruneRepository(grid.repo, grid.src, async () => ((await heads.read())?.head.snapshots ?? []).map((s) => s.cap));
process.stdout.write(JSON.stringify(report) + '\n');
await grid.close();
