/**
 * Composition order through the host, with real files, real chokidar and HTTP: an extension
 * that extends another's type composes after it whatever the file names, survives that
 * extension's reload, fails while it is missing and recovers when it returns; a cycle is
 * refused naming the extensions.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import request from 'supertest';
import { createApp, defaultOptions, type TestApp } from './apps.js';
import { extensionsDir, fixturePath, tempDir } from './helpers.js';

/** The same component with a custom section appended: new bytes (a new version), the same SDL. */
function newBytes(fixture: string): Buffer {
  const name = Buffer.from('forge-test');
  const payload = Buffer.from(String(Date.now()));
  return Buffer.concat([readFileSync(fixturePath(fixture)), Buffer.from([0, name.length + 1 + payload.length, name.length]), name, payload]);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function writeAtomically(file: string, bytes: Uint8Array): void {
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
}

/** Polls `check` until it returns true (the watcher and the load are asynchronous). */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('composition order through the host', () => {
  let ext: { dir: string; cleanup: () => void };
  let data: { dir: string; cleanup: () => void };
  let app: TestApp;
  afterEach(async () => {
    await app.close();
    ext.cleanup();
    data.cleanup();
  });

  const serve = async (files: Record<string, string>, extensions: Record<string, object> = {}) => {
    ext = extensionsDir(files);
    data = tempDir();
    app = createApp('express', ext.dir, { ...defaultOptions(data.dir), namespace: 'none', watch: true, extensions });
    await app.host.ready();
  };
  const query = async (q: string) => (await request(app.handler).post('/graphql').send({ query: q }).expect(200)).body;
  const state = (name: string) => app.host.status().find((s) => s.name === name);
  const WIDGET = { data: { widget: { id: 'w1', extra: 'more' } } };

  it('composes an extension after the one whose type it extends, whatever the names; keeps it across reloads; recovers it (row 4)', async () => {
    // `aaa` sorts first but extends `zzz`'s Widget.
    await serve({ 'zzz.wasm': 'widget', 'aaa.wasm': 'widget-extra' });
    assert.deepEqual(app.host.status().map((s) => [s.name, s.state, s.error]), [['aaa', 'ready', undefined], ['zzz', 'ready', undefined]]);
    assert.deepEqual(await query('{ widget { id extra } }'), WIDGET);

    // The same SDL in new bytes: `zzz` reloads and `aaa` composes after it again.
    const zzz = join(ext.dir, 'zzz.wasm');
    const before = state('zzz')!.version;
    writeAtomically(zzz, newBytes('widget'));
    await until('zzz reloaded', () => state('zzz')!.version !== before && state('zzz')!.state === 'ready');
    assert.equal(state('aaa')!.state, 'ready', state('aaa')!.error);
    assert.deepEqual(await query('{ widget { id extra } }'), WIDGET);

    // Without `zzz`, `aaa` cannot compose; the host keeps serving.
    rmSync(zzz);
    await until('aaa failed', () => state('aaa')!.state === 'failed');
    assert.equal(state('zzz')!.state, 'unloaded');
    assert.match(state('aaa')!.error!, /^extension "aaa" failed at compose: Cannot extend type "Widget" because it is not defined/);
    assert.equal((await query('{ widget { id } }')).errors[0].message, 'Cannot query field "widget" on type "Query".');

    // `zzz` returns: `aaa`, which failed only for want of it, recovers.
    writeAtomically(zzz, readFileSync(fixturePath('widget')));
    await until('aaa recovered', () => state('aaa')!.state === 'ready' && state('zzz')!.state === 'ready');
    assert.deepEqual(await query('{ widget { id extra } }'), WIDGET);
  });

  it('loads a dependent that arrived first once its dependency is added (row 4)', async () => {
    await serve({ 'aaa.wasm': 'widget-extra' });
    assert.equal(state('aaa')!.state, 'failed');
    writeAtomically(join(ext.dir, 'zzz.wasm'), readFileSync(fixturePath('widget')));
    await until('both ready', () => state('aaa')!.state === 'ready' && state('zzz')?.state === 'ready');
    assert.deepEqual(await query('{ widget { id extra } }'), WIDGET);
  });

  it('refuses extensions that use each other\'s types in a cycle, naming them, and serves the others (row 4)', async () => {
    await serve(
      { 'ping.wasm': 'probe', 'pong.wasm': 'probe', 'zzz.wasm': 'widget' },
      {
        ping: { config: { sdl: 'type Ping { pong: Pong } extend type Query { ping: Ping }' } },
        pong: { config: { sdl: 'type Pong { ping: Ping }' } },
      },
    );
    const cycle = 'extensions use each other\'s types in a cycle (ping -> pong -> ping): they cannot compose';
    assert.deepEqual(
      app.host.status().map((s) => [s.name, s.state, s.error]),
      [
        ['ping', 'failed', `extension "ping" failed at compose: ${cycle}`],
        ['pong', 'failed', `extension "pong" failed at compose: ${cycle}`],
        ['zzz', 'ready', undefined],
      ],
    );
    assert.deepEqual(await query('{ widget { id } }'), { data: { widget: { id: 'w1' } } });
  });

  it('refuses a cycle of three, and names the refused extension a dependent waits for; the others serve', async () => {
    const sdl = (text: string) => ({ config: { sdl: text } });
    await serve(
      { 'a.wasm': 'probe', 'b.wasm': 'probe', 'c.wasm': 'probe', 'd.wasm': 'probe', 'zzz.wasm': 'widget' },
      {
        a: sdl('type A { b: B } extend type Query { a: A }'),
        b: sdl('type B { c: C }'),
        c: sdl('type C { a: A }'),
        d: sdl('type D { a: A } extend type Query { d: D }'),
      },
    );
    const cycle = 'extensions use each other\'s types in a cycle (a -> b -> c -> a): they cannot compose';
    assert.deepEqual(
      app.host.status().map((s) => [s.name, s.state, s.error]),
      [
        ['a', 'failed', `extension "a" failed at compose: ${cycle}`],
        ['b', 'failed', `extension "b" failed at compose: ${cycle}`],
        ['c', 'failed', `extension "c" failed at compose: ${cycle}`],
        ['d', 'failed', 'extension "d" failed at compose: Unknown type "A". Did you mean "D"? (SDL line 1, column 13); type "A" is defined by extension "a", which did not compose'],
        ['zzz', 'ready', undefined],
      ],
    );
    assert.deepEqual(await query('{ widget { id } }'), { data: { widget: { id: 'w1' } } });
  });

  it('loads a refused new version again when the type it waited for arrives (an older version served meanwhile)', async () => {
    await serve({ 'aaa.wasm': 'counter' });
    const aaa = join(ext.dir, 'aaa.wasm');
    writeAtomically(aaa, readFileSync(fixturePath('widget-extra')));
    await until('the new aaa refused', () => /Cannot extend type "Widget"/.test(state('aaa')!.error ?? ''));
    assert.equal(state('aaa')!.state, 'ready'); // the counter version serves on
    assert.deepEqual((await query('{ hello }')).data, { hello: 'world' });

    writeAtomically(join(ext.dir, 'zzz.wasm'), readFileSync(fixturePath('widget')));
    await until('the new aaa serves', () => state('aaa')!.error === undefined && state('zzz')?.state === 'ready');
    assert.deepEqual(await query('{ widget { id extra } }'), WIDGET);
  });

  it('swaps a release switched at once (a symlink) as one change: no new version is judged against old ones', async () => {
    ext = tempDir('forge-releases-');
    const release = (n: number, files: Record<string, string>) => {
      mkdirSync(join(ext.dir, String(n)));
      for (const [file, fixture] of Object.entries(files)) copyFileSync(fixturePath(fixture), join(ext.dir, String(n), file));
    };
    release(1, { 'aaa.wasm': 'counter' });
    release(2, { 'aaa.wasm': 'widget-extra', 'zzz.wasm': 'widget' });
    const current = join(ext.dir, 'current');
    symlinkSync(join(ext.dir, '1'), current);
    data = tempDir();
    app = createApp('express', current, { ...defaultOptions(data.dir), namespace: 'none', watch: true });
    await app.host.ready();
    const failures: string[] = [];
    app.host.on('failed', (e: { name: string; error?: Error }) => failures.push(`${e.name}: ${e.error?.message}`));

    symlinkSync(join(ext.dir, '2'), `${current}.next`);
    renameSync(`${current}.next`, current);
    await until('release 2 serves', () => state('zzz')?.state === 'ready' && state('aaa')!.version === sha256(readFileSync(fixturePath('widget-extra'))));
    assert.deepEqual(await query('{ widget { id extra } }'), WIDGET);
    assert.deepEqual(failures, []);
  });
});
