// The package's public shape: what the module exports is what index.d.ts
// declares (tsc checks the declarations themselves: test/types.check.ts),
// and the version matches package.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as mod from '@ssegate/client';

const read = (name) => readFile(new URL('../' + name, import.meta.url), 'utf8');

test('exports match index.d.ts', async () => {
  const dts = await read('index.d.ts');
  const declared = [...dts.matchAll(/^export declare (?:function|const) (\w+)/gm)].map((m) => m[1]);
  if (/^export default /m.test(dts)) declared.push('default');
  assert.deepEqual(Object.keys(mod).sort(), declared.sort());
  assert.equal(typeof mod.connect, 'function');
  assert.equal(mod.default, mod.SSEGate);
  assert.equal(mod.SSEGate.connect, mod.connect);
});

test('version matches package.json', async () => {
  const pkg = JSON.parse(await read('package.json'));
  assert.equal(mod.SSEGate.version, pkg.version);
});

test('importing has no side effects', () => {
  assert.equal(globalThis.SSEGate, undefined);
});

test('no EventSource is a clear error', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'EventSource'); // Node 22+ may have one
  delete globalThis.EventSource;
  try {
    assert.throws(() => mod.connect({}), /EventSource is not available/);
  } finally {
    if (saved) Object.defineProperty(globalThis, 'EventSource', saved);
  }
});
