#!/usr/bin/env node
// The installed command (built by `npm ci` / `npm run build`, shipped in the package). Written for any Node: on one
// older than 22 it says so in one line instead of failing deep in an import (the CLI uses Node 22's zstd, among others).
// Commands run the bundle (dist/bundle/p2pbackup.js): they start on half the CPU of dist/'s modules. The daemon runs
// dist/'s modules: measured on 512 MiB backups into 5 peers, the bundled daemons took about 19% more CPU moving the
// same bytes (4 interleaved pairs), which a long-lived process pays far more often than its start (`npm run bench --
// startup`: 1.5 against 0.7 CPU s). Either entry is the same program.
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= 22)) {
  process.stderr.write(`p2pbackup: Node.js 22 or newer is needed (this is Node.js ${process.versions.node}: ${process.execPath})\n`);
  process.exit(2);
}
if (process.argv.slice(2).includes('daemon')) await import('../dist/cli/bin.js');
else await import('../dist/bundle/p2pbackup.js');
