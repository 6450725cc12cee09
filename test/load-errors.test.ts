/**
 * Every bad file gets a specific error naming the extension and the step, and leaves nothing
 * behind: empty, garbage, truncated, a core module, an unknown import, an init that refuses, a
 * migration that fails half-way.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ExtensionLoadError } from '../lib/runtime/errors.js';
import { loadExtension } from '../lib/runtime/load.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { fixturePath, rejection, tempDir, TEST_CACHE_DIR } from './helpers.js';

describe('loading a bad file', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  async function loadError(bytes: Uint8Array, name = 'bad'): Promise<ExtensionLoadError> {
    const file = join(dir, `${name}.wasm`);
    writeFileSync(file, bytes);
    const error = await rejection(loadExtension(file, { dataDir: dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, isolation: 'inline' }));
    assert.ok(error instanceof ExtensionLoadError, `expected an ExtensionLoadError, got ${error}`);
    assert.equal(error.extension, name);
    return error;
  }

  it('an empty file', async () => {
    const e = await loadError(new Uint8Array());
    assert.equal(e.step, 'validate');
    assert.match(e.message, /^extension "bad" failed at validate: the file is empty$/);
  });

  it('bytes that are not WebAssembly', async () => {
    const e = await loadError(Buffer.from('<html>definitely not wasm</html>'));
    assert.equal(e.step, 'validate');
    assert.match(e.message, /not a WebAssembly binary .*looks like text/);
  });

  it('random garbage after a valid header', async () => {
    const garbage = Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]);
    const e = await loadError(garbage);
    assert.equal(e.step, 'validate');
    assert.match(e.message, /truncated/);
  });

  it('a truncated component', async () => {
    const whole = readFileSync(fixturePath('counter'));
    const e = await loadError(whole.subarray(0, Math.floor(whole.length * 0.6)));
    assert.equal(e.step, 'validate');
    assert.match(e.message, /the file is truncated/);
  });

  it('a core module rather than a component', async () => {
    const e = await loadError(readFileSync(fixturePath('core-module')));
    assert.equal(e.step, 'validate');
    assert.match(e.message, /this is a core WebAssembly module, not a component/);
  });

  it('a component with an import the sandbox does not provide, named', async () => {
    const e = await loadError(readFileSync(fixturePath('unknown-import')));
    assert.equal(e.step, 'validate');
    assert.match(e.message, /unknown import "evil:net\/socket"/);
  });

  it('a file name that is not a valid extension name', async () => {
    const e = await loadError(readFileSync(fixturePath('counter')), 'Bad.Name');
    assert.equal(e.step, 'validate');
    assert.match(e.message, /invalid extension name "Bad.Name"/);
  });

  it('an extension whose init answers err', async () => {
    const e = await loadError(readFileSync(fixturePath('init-error')), 'refuses');
    assert.equal(e.step, 'init');
    assert.equal(e.message, 'extension "refuses" failed at init: init refused: missing configuration');
  });

  it('a migration that fails half-way leaves no table behind', async () => {
    const e = await loadError(readFileSync(fixturePath('migrate-fails')), 'halfway');
    assert.equal(e.step, 'migrate');
    assert.match(e.message, /failed at migrate: near "THIS": syntax error/);
    const db = new Database(join(dir, 'forge_ext_halfway.db'), { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    db.close();
    assert.deepEqual(tables, [], 'the half-done migration must be rolled back completely');
  });

  it('a missing file', async () => {
    const error = await rejection(loadExtension(join(dir, 'nowhere.wasm'), { dataDir: dir, logger: silentLogger }));
    assert.ok(error instanceof ExtensionLoadError);
    assert.equal(error.step, 'read');
    assert.match(error.message, /ENOENT/);
  });

  it('refuses nonsense options with a TypeError', async () => {
    const file = fixturePath('counter');
    await assert.rejects(loadExtension(file, { dataDir: dir, limits: { timeoutMs: 0 } }), /limits.timeoutMs must be a positive number/);
    await assert.rejects(loadExtension(file, { dataDir: dir, limits: { speed: 1 } as never }), /limits.speed is not a known limit/);
    await assert.rejects(loadExtension(file, { dataDir: dir, isolation: 'thread' as never }), /isolation must be 'process', 'worker' or 'inline'/);
    await assert.rejects(loadExtension(new Uint8Array(8), { dataDir: dir }), /options.name is required/);
  });
});
