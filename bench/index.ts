// Minimal bench dispatcher: `node bench/index.ts <name> [args]` runs bench/<name>.ts's run(argv).
// (Placeholder; the shared dispatcher from another branch replaces it at merge.)
const [name, ...argv] = process.argv.slice(2);
if (!name || !/^[a-z0-9-]+$/.test(name)) {
  process.stderr.write('usage: node bench/index.ts <name> [args]\n');
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { run(argv: string[]): Promise<void> };
await mod.run(argv);
