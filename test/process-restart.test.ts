/**
 * Process isolation under a hostile guest whose restarts fail (`restart` fixture: once armed,
 * its `init` traps or never returns in a fresh process) and under an operator closing the host
 * while such a load runs. Real child processes, real SQLite files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createExtensionHost } from '../lib/host/host.js';
import { databasePath } from '../lib/data/names.js';
import type { Extension } from '../lib/runtime/extension.js';
import { loadExtension } from '../lib/runtime/load.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { extensionsDir, fixturePath, rejection, TEST_CACHE_DIR, tempDir } from './helpers.js';
import { extensionProcesses, waitFor } from './procfs.js';

describe('process isolation: restarts that fail, close() during a load', function () {
  let data: { dir: string; cleanup: () => void };
  let loaded: Extension | undefined;
  beforeEach(() => (data = tempDir()));
  afterEach(async () => {
    await loaded?.close();
    loaded = undefined;
    data.cleanup();
  });

  const load = async (timeoutMs: number) =>
    (loaded = await loadExtension(fixturePath('restart'), { dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, limits: { timeoutMs } }));
  const call = (ext: Extension, fieldName: string, write = false): Promise<{ value?: unknown; code?: string; message?: string }> =>
    ext.resolveField({ typeName: write ? 'Mutation' : 'Query', fieldName }, { write }).then(
      (value) => ({ value }),
      (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
    );
  /** Arms the guest, then makes it time out: the next call meets a fresh process whose init fails. */
  const armAndTimeOut = async (ext: Extension, arm: 'armTrap' | 'armHang') => {
    assert.deepEqual(await call(ext, arm, true), { value: 'armed' });
    assert.equal((await call(ext, 'spin')).code, 'EXTENSION_TIMEOUT');
  };
  /** Calls until the circuit breaker opens; checks each failure and that processes never pile up. */
  const callUntilFailed = async (ext: Extension, check: (r: { code?: string; message?: string }) => void) => {
    let most = 0;
    const sample = setInterval(() => (most = Math.max(most, extensionProcesses('restart').length)), 50);
    try {
      for (let i = 0; i < 10 && ext.state === 'ready'; i++) check(await call(ext, 'ok'));
    } finally {
      clearInterval(sample);
    }
    assert.equal(ext.state, 'failed', 'the circuit breaker opened');
    assert.ok(most <= 1, `at most one process at a time, saw ${most}`);
    assert.equal((await call(ext, 'ok')).code, 'EXTENSION_UNAVAILABLE');
    await waitFor(() => extensionProcesses('restart').length === 0, 10_000, 'no process left once the breaker is open');
  };

  it('init traps in every fresh process: each call fails EXTENSION_CRASHED, the breaker opens, no restart storm', async () => {
    const ext = await load(1000);
    await armAndTimeOut(ext, 'armTrap');
    await callUntilFailed(ext, (r) => {
      assert.equal(r.code, 'EXTENSION_CRASHED', JSON.stringify(r));
      assert.match(r.message!, /during init/);
    });
  });

  it('init never returns in a fresh process: it is stopped at limits.timeoutMs (not the 30 s start deadline), the breaker opens', async () => {
    const ext = await load(1000);
    await armAndTimeOut(ext, 'armHang');
    await callUntilFailed(ext, (r) => {
      assert.equal(r.code, 'EXTENSION_TIMEOUT', JSON.stringify(r));
      assert.match(r.message!, /init of a fresh instance ran longer than 1000 ms \(limits.timeoutMs\)/);
    });
  });

  it('host.close() returns within 5 s while a load is stuck in init; nothing is left running', async () => {
    const exts = extensionsDir({ 'restart.wasm': 'restart', 'counter.wasm': 'counter' });
    try {
      // Armed before the first load: its init never returns.
      const db = new Database(databasePath(data.dir, 'restart'));
      db.exec('CREATE TABLE armed_hang(x)');
      db.close();
      const host = createExtensionHost(exts.dir, { dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, watch: false });
      const failed: string[] = [];
      host.on('failed', ({ name }: { name: string }) => failed.push(name));
      await waitFor(() => extensionProcesses('restart').length === 1, 30_000, 'the restart fixture is in init');
      const began = performance.now();
      await host.close();
      const closeMs = performance.now() - began;
      assert.ok(closeMs < 5000, `close() took ${closeMs.toFixed(0)} ms`);
      await waitFor(() => extensionProcesses().length === 0, 5000, 'no extension process left');
      assert.deepEqual(failed, [], 'a load aborted by close() is not reported as the extension failing');
      await assert.doesNotReject(host.ready());
    } finally {
      exts.cleanup();
    }
  });

  it('loadExtension({ signal }): aborting stops a start in progress with a named error', async () => {
    const db = new Database(databasePath(data.dir, 'restart'));
    db.exec('CREATE TABLE armed_hang(x)');
    db.close();
    const controller = new AbortController();
    const loading = rejection(loadExtension(fixturePath('restart'), { dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, signal: controller.signal }));
    await waitFor(() => extensionProcesses('restart').length === 1, 30_000, 'the restart fixture is in init');
    controller.abort();
    const e = await loading;
    assert.equal(e.name, 'ExtensionLoadError');
    assert.match(e.message, /failed at instantiate: the load was aborted \(options.signal\)/);
    await waitFor(() => extensionProcesses('restart').length === 0, 5000, 'its process is gone');
  });

  it('file descriptors exhausted: spawning the process fails with a named load error, the host lives on and loads once they are back', async () => {
    const child = spawn(process.execPath, [join('dist', 'test', 'children', 'no-fds.js'), fixturePath('counter'), data.dir, TEST_CACHE_DIR], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `the host process died: ${err}\n${out}`);
    const steps = Object.fromEntries(out.trim().split('\n').map((l) => JSON.parse(l) as { step: string; value: unknown }).map((s) => [s.step, s.value]));
    assert.deepEqual(steps['warm'], { ok: 'world' });
    const starved = steps['starved'] as { ok?: string; error?: string; message?: string };
    assert.equal(starved.error, 'ExtensionLoadError', JSON.stringify(starved));
    assert.match(starved.message!, /EMFILE/);
    assert.deepEqual(steps['after'], { ok: 'world' });
  });
});
