#!/usr/bin/env node
// The installed command: runs the bundled CLI (dist/bundle/p2pbackup.js, built by `npm ci` / `npm run build`, shipped in the
// package). Written for any Node: on one older than 22 it says so in one line instead of failing deep in
// an import (the CLI uses Node 22's zstd, among others).
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= 22)) {
  process.stderr.write(`p2pbackup: Node.js 22 or newer is needed (this is Node.js ${process.versions.node}: ${process.execPath})\n`);
  process.exit(2);
}
await import('../dist/bundle/p2pbackup.js');
