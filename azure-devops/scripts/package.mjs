// Builds the extension: compiles src/run.ts once, stages every task folder
// (task.json, command.json, the compiled entry as index.js, the pin list
// action/binaries.sha256, the production node_modules) and packs the staged
// tree with `tfx extension create` (validation on).
//
//   node scripts/package.mjs [OUT_DIR] [--stage-only]     (default: azure-devops/out)
//
// OUT_DIR/extension is the staged tree (each task folder runs as is);
// OUT_DIR/trainyard-<version>.vsix is the package (not with --stage-only).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const stageOnly = args.includes('--stage-only');
const out = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(root, 'out'));
const stage = join(out, 'extension');
const bin = (name) => join(root, 'node_modules', '.bin', name);

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
execFileSync(bin('tsc'), ['-p', join(root, 'tsconfig.json'), '--outDir', join(out, 'dist')], { stdio: 'inherit' });

// The production dependencies, from the lock file (no network).
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const production = Object.entries(lock.packages)
  .filter(([key, entry]) => key.startsWith('node_modules/') && !entry.dev && !key.slice('node_modules/'.length).includes('node_modules/'))
  .map(([key]) => key);

const manifest = JSON.parse(readFileSync(join(root, 'vss-extension.json'), 'utf8'));
cpSync(join(root, 'vss-extension.json'), join(stage, 'vss-extension.json'));
cpSync(join(root, 'overview.md'), join(stage, 'overview.md'));
cpSync(join(root, 'images'), join(stage, 'images'), { recursive: true });
for (const task of readdirSync(join(root, 'tasks'))) {
  const target = join(stage, 'tasks', task);
  mkdirSync(target, { recursive: true });
  for (const file of ['task.json', 'command.json']) {
    cpSync(join(root, 'tasks', task, file), join(target, file));
  }
  cpSync(join(out, 'dist', 'run.js'), join(target, 'index.js'));
  // One pin list for the GitHub actions and the Azure tasks.
  cpSync(join(root, '..', 'action', 'binaries.sha256'), join(target, 'binaries.sha256'));
  cpSync(join(root, 'images', 'icon.png'), join(target, 'icon.png'));
  for (const key of production) {
    cpSync(join(root, key), join(target, key), { recursive: true, dereference: true });
  }
}

if (stageOnly) {
  process.exit(0);
}
execFileSync(bin('tfx'), [
  'extension', 'create',
  '--root', stage,
  '--manifest-globs', 'vss-extension.json',
  '--output-path', join(out, `trainyard-${manifest.version}.vsix`),
  '--no-prompt',
], { stdio: 'inherit', env: { ...process.env, DO_NOT_TRACK: '1' } });
