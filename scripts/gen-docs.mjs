#!/usr/bin/env node
// Regenerates the packagers' copies of wgbgp(1) and the shell completion scripts
// (GENERATED_FILES in src/cli/docs.ts) from the command tree, through the built CLI:
//   node scripts/gen-docs.mjs
// test/cli/docs.test.ts fails while a committed copy differs from what this writes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', 'cli', p);
const started = Date.now();
// Type errors in files under construction elsewhere do not stop tsc from emitting dist/cli.
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
if (!existsSync(dist('main.js')) || statSync(dist('main.js')).mtimeMs < started - 1000) {
  process.stderr.write(`gen-docs: tsc did not emit dist/cli/main.js\n${tsc.stdout}${tsc.stderr}`);
  process.exit(1);
}
if (tsc.status !== 0) process.stderr.write('gen-docs: tsc reported type errors (npm run typecheck); dist/ was emitted all the same\n');

const { main } = await import(pathToFileURL(dist('main.js')).href);
const { GENERATED_FILES } = await import(pathToFileURL(dist('docs.js')).href);
for (const { path, argv } of GENERATED_FILES) {
  let out = '';
  let err = '';
  const io = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readStdin: () => Promise.resolve(''),
    now: () => new Date(),
  };
  const code = await main([...argv], io);
  if (code !== 0) {
    process.stderr.write(`gen-docs: wgbgp ${argv.join(' ')} exited ${code}\n${err}`);
    process.exit(1);
  }
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), out);
  process.stdout.write(`wrote ${path}\n`);
}
