// A clean first install: npm 11 lists every dependency whose install scripts
// package.json's "allowScripts" does not cover. Ours are decided: @swc/core's
// postinstall only checks that its native binding loads (and would fetch
// @swc/wasm if not), esbuild's only checks its binary and copies it over the
// JS shim; both platform packages arrive as optional dependencies, so ts-node
// --swc and tsx work without them (checked on a fresh clone with `npm ci`).
// Denied by name: our lock file has no `resolved` URLs, so a pinned approval
// (pkg@1.2.3) could never match, while a name-only denial always does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const json = (file: string): unknown => JSON.parse(readFileSync(join(root, file), 'utf8'));

test('every dependency with install scripts is decided in allowScripts (npm ci prints no install-scripts warning)', () => {
  const lock = json('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
  const pkg = json('package.json') as { allowScripts?: Record<string, boolean> };
  const withScripts = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  const undecided = withScripts.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean');
  assert.deepEqual(undecided, [], 'add each to "allowScripts" in package.json (false unless the package needs its script)');
});
