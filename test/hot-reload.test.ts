/**
 * Hot reload with real files and real chokidar: add, replace, remove and put back; bad
 * replacements that leave the previous version serving; a slow in-place write; and a client
 * querying continuously while the extension is replaced ten times; the directory itself removed
 * and created again.
 */
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import request from 'supertest';
import Database from 'better-sqlite3';
import type { ExtensionEvent, ExtensionHost } from '../lib/host/host.js';
import { createApp, defaultOptions, type TestApp } from './apps.js';
import { fixturePath, recordingLogger, tempDir } from './helpers.js';

/** Replaces `dir/<name>.wasm` the safe way: write a temporary file, rename it over. */
function replaceAtomically(dir: string, name: string, content: Uint8Array): void {
  const tmp = join(dir, `${name}.wasm.tmp`);
  writeFileSync(tmp, content);
  renameSync(tmp, join(dir, `${name}.wasm`));
}

/** Resolves with the next `kind` event for extension `name`. */
function nextEvent(host: ExtensionHost, kind: 'loaded' | 'reloaded' | 'unloaded' | 'failed', name: string, timeoutMs = 20_000): Promise<ExtensionEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${kind}' event for ${name} within ${timeoutMs} ms`)), timeoutMs);
    const listener = (event: ExtensionEvent) => {
      if (event.name !== name) return;
      clearTimeout(timer);
      host.off(kind, listener);
      resolve(event);
    };
    host.on(kind, listener);
  });
}

/** Every event the host emits, in order. */
function recordEvents(host: ExtensionHost): Array<[string, ExtensionEvent]> {
  const events: Array<[string, ExtensionEvent]> = [];
  for (const kind of ['loaded', 'reloaded', 'unloaded', 'failed'] as const) host.on(kind, (e: ExtensionEvent) => events.push([kind, e]));
  return events;
}

const fixture = (name: string) => readFileSync(fixturePath(name));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('hot reload', function () {
  let ext: { dir: string; cleanup: () => void };
  let data: { dir: string; cleanup: () => void };
  let app: TestApp;
  beforeEach(async () => {
    ext = tempDir('forge-watch-');
    data = tempDir();
    app = createApp('express', ext.dir, { ...defaultOptions(data.dir), watch: true });
    await app.host.ready();
  });
  afterEach(async () => {
    await app.close();
    ext.cleanup();
    data.cleanup();
  });

  const query = async (q: string) => (await request(app.handler).post('/graphql').send({ query: q }).expect(200)).body;

  it('adds, upgrades (keeping data), removes (keeping the database) and restores an extension', async () => {
    assert.equal((await query('{ hello }')).errors?.[0]?.message, 'Cannot query field "hello" on type "Query".');

    let event = nextEvent(app.host, 'loaded', 'counter');
    replaceAtomically(ext.dir, 'counter', fixture('counter'));
    assert.equal((await event).version, sha256(fixture('counter')));
    assert.deepEqual((await query('mutation { bump { changes } }')).data, { bump: { changes: 1 } });

    event = nextEvent(app.host, 'reloaded', 'counter');
    replaceAtomically(ext.dir, 'counter', fixture('counter-v2'));
    await event;
    assert.deepEqual((await query('{ version hello counter { n } }')).data, { version: 2, hello: 'world, v2', counter: [{ n: 1 }] });

    event = nextEvent(app.host, 'unloaded', 'counter');
    rmSync(join(ext.dir, 'counter.wasm'));
    await event;
    assert.match((await query('{ hello }')).errors?.[0]?.message, /Cannot query field "hello"/);
    assert.ok(existsSync(join(data.dir, 'forge_ext_counter.db')), 'removing a .wasm never deletes its database');
    assert.equal(app.host.status()[0]!.state, 'unloaded');

    event = nextEvent(app.host, 'loaded', 'counter');
    replaceAtomically(ext.dir, 'counter', fixture('counter-v2'));
    await event;
    assert.deepEqual((await query('{ counter { n } }')).data, { counter: [{ n: 1 }] }, 'the data is back');
  });

  it('keeps the previous version serving when a replacement is bad, and recovers with a good one', async () => {
    let loaded = nextEvent(app.host, 'loaded', 'counter');
    replaceAtomically(ext.dir, 'counter', fixture('counter'));
    await loaded;
    await query('mutation { bump { changes } }');
    const serving = sha256(fixture('counter'));

    const bad: Array<[string, Uint8Array, RegExp]> = [
      ['garbage bytes', Buffer.from('this is not a component at all'), /failed at validate: not a WebAssembly binary/],
      ['an invalid SDL', fixture('bad-sdl'), /failed at compose: invalid SDL: syntax error/],
      ['a failing migration', fixture('migrate-fails'), /failed at migrate: near "THIS": syntax error/],
    ];
    for (const [what, bytes, error] of bad) {
      const failed = nextEvent(app.host, 'failed', 'counter');
      replaceAtomically(ext.dir, 'counter', bytes);
      assert.match((await failed).error!.message, error, what);
      assert.deepEqual((await query('{ hello counter { n } }')).data, { hello: 'world', counter: [{ n: 1 }] }, `still serving after ${what}`);
      const status = app.host.status()[0]!;
      assert.equal(status.state, 'ready');
      assert.equal(status.version, serving);
      assert.match(status.error!, error);
    }
    // The failed migration touched nothing.
    const db = new Database(join(data.dir, 'forge_ext_counter.db'), { readonly: true });
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").all(), []);
    db.close();

    loaded = nextEvent(app.host, 'reloaded', 'counter');
    replaceAtomically(ext.dir, 'counter', fixture('counter-v2'));
    await loaded;
    const status = app.host.status()[0]!;
    assert.equal(status.error, undefined);
    assert.deepEqual((await query('{ version counter { n } }')).data, { version: 2, counter: [{ n: 1 }] });
  });

  it('loads a slow in-place write once, complete', async () => {
    const events = recordEvents(app.host);
    const bytes = fixture('counter');
    const loaded = nextEvent(app.host, 'loaded', 'counter');
    const fd = openSync(join(ext.dir, 'counter.wasm'), 'w');
    const chunk = Math.ceil(bytes.length / 10);
    for (let at = 0; at < bytes.length; at += chunk) {
      writeSync(fd, bytes, at, Math.min(chunk, bytes.length - at));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    closeSync(fd);
    assert.equal((await loaded).version, sha256(bytes));
    await new Promise((resolve) => setTimeout(resolve, 400)); // any late event would show now
    assert.deepEqual(events.map(([kind, e]) => [kind, e.name]), [['loaded', 'counter']]);
  });

  it('ignores editor temporary files and rewrites with identical bytes', async () => {
    const loaded = nextEvent(app.host, 'loaded', 'counter');
    replaceAtomically(ext.dir, 'counter', fixture('counter'));
    await loaded;
    const events = recordEvents(app.host);
    writeFileSync(join(ext.dir, '.counter.wasm.swp'), 'vim swap');
    writeFileSync(join(ext.dir, 'counter.wasm~'), fixture('counter-v2'));
    writeFileSync(join(ext.dir, '4913'), '');
    replaceAtomically(ext.dir, 'counter', fixture('counter'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(events, []);
    assert.deepEqual(app.host.status().map((s) => s.name), ['counter']);
  });

  it('serves every request from the old or the new version, never an error or a mix, across 10 replacements', async () => {
    const loaded = nextEvent(app.host, 'loaded', 'counter');
    replaceAtomically(ext.dir, 'counter', fixture('counter'));
    await loaded;
    const url = await app.listen();

    const seen = new Map<string, number>();
    const failures: string[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ a: hello b: hello counter { n } }' }) });
        const text = await res.text();
        const body = JSON.parse(text) as { data?: { a: string; b: string }; errors?: unknown };
        if (res.status !== 200 || body.errors || !body.data || body.data.a !== body.data.b) failures.push(`${res.status} ${text}`);
        else seen.set(body.data.a, (seen.get(body.data.a) ?? 0) + 1);
      }
    };
    const clients = [client(), client(), client()];
    for (let i = 0; i < 10; i++) {
      const reloaded = nextEvent(app.host, 'reloaded', 'counter');
      replaceAtomically(ext.dir, 'counter', fixture(i % 2 === 0 ? 'counter-v2' : 'counter'));
      await reloaded;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    running = false;
    await Promise.all(clients);
    assert.deepEqual(failures, []);
    assert.deepEqual([...seen.keys()].sort(), ['world', 'world, v2']);
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > 50, `${total} requests answered during the replacements`);
  });
});

describe('hot reload when the extensions directory is removed and created again (row 6)', function () {
  let root: { dir: string; cleanup: () => void };
  let data: { dir: string; cleanup: () => void };
  let dir: string;
  let app: TestApp;
  let logger: ReturnType<typeof recordingLogger>;
  beforeEach(async () => {
    root = tempDir('forge-watch-parent-');
    dir = join(root.dir, 'extensions');
    mkdirSync(dir);
    copyFileSync(fixturePath('counter'), join(dir, 'counter.wasm'));
    data = tempDir();
    logger = recordingLogger();
    app = createApp('express', dir, { ...defaultOptions(data.dir), watch: true, logger });
    await app.host.ready();
    assert.equal(app.host.status()[0]!.state, 'ready');
  });
  afterEach(async () => {
    await app.close();
    root.cleanup();
    data.cleanup();
  });

  const query = async (q: string) => (await request(app.handler).post('/graphql').send({ query: q }).expect(200)).body;
  const warnings = () => logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);

  it('watches only the directory: extension files beside it or in a subdirectory are ignored', async () => {
    const events = recordEvents(app.host);
    copyFileSync(fixturePath('counter-v2'), join(root.dir, 'beside.wasm'));
    mkdirSync(join(dir, 'nested'));
    copyFileSync(fixturePath('counter-v2'), join(dir, 'nested', 'deeper.wasm'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(events, []);
    assert.deepEqual(app.host.status().map((s) => s.name), ['counter']);
    assert.deepEqual(warnings(), []);
  });

  for (const pauseMs of [0, 1000]) {
    it(`picks up a new version copied in ${pauseMs ? 'a second after' : 'right after'} the directory is recreated, and later in-place writes`, async () => {
      const unloaded = nextEvent(app.host, 'unloaded', 'counter');
      rmSync(dir, { recursive: true, force: true });
      await unloaded;
      assert.equal((await query('{ hello }')).errors?.[0]?.message, 'Cannot query field "hello" on type "Query".');
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      assert.deepEqual(warnings(), [`forge-extensions: the extensions directory ${dir} was removed (or is no longer a directory); its extensions stop serving until it is back`]);

      const loaded = nextEvent(app.host, 'loaded', 'counter');
      mkdirSync(dir);
      copyFileSync(fixturePath('counter-v2'), join(dir, 'counter.wasm'));
      assert.equal((await loaded).version, sha256(fixture('counter-v2')));
      assert.deepEqual((await query('{ version hello }')).data, { version: 2, hello: 'world, v2' });

      // The watch goes on: an in-place rewrite is noticed.
      const reloaded = nextEvent(app.host, 'reloaded', 'counter');
      writeFileSync(join(dir, 'counter.wasm'), fixture('counter'));
      assert.equal((await reloaded).version, sha256(fixture('counter')));
      assert.deepEqual((await query('{ hello }')).data, { hello: 'world' });
      assert.equal(warnings().length, 1, 'one warning while the directory was missing');
    });
  }

  /** Polls until `check` holds (the watcher and the loads are asynchronous). */
  const until = async (what: string, check: () => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${JSON.stringify(app.host.status())}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const serving = (version: string) => () => app.host.status()[0]?.state === 'ready' && app.host.status()[0]?.version === version;
  const errors = () => logger.lines.filter((l) => l.level === 'error').map((l) => l.msg);

  it('keeps watching a directory removed and created again at once, with no pause (later in-place writes too)', async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    copyFileSync(fixturePath('counter-v2'), join(dir, 'counter.wasm'));
    await until('v2 serves', serving(sha256(fixture('counter-v2'))));
    assert.deepEqual((await query('{ version hello }')).data, { version: 2, hello: 'world, v2' });

    writeFileSync(join(dir, 'counter.wasm'), fixture('counter'));
    await until('the in-place rewrite serves', serving(sha256(fixture('counter'))));
    assert.deepEqual((await query('{ hello }')).data, { hello: 'world' });
    copyFileSync(fixturePath('widget'), join(dir, 'second.wasm'));
    await until('a new file serves', () => app.host.status().some((s) => s.name === 'second' && s.state === 'ready'));
    assert.deepEqual(errors(), []);
  });

  it('unloads when the directory is replaced by a file, without errors, and loads what a directory there holds later', async () => {
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    await until('counter unloaded', () => app.host.status()[0]?.state === 'unloaded');
    assert.equal(app.host.status()[0]!.error, undefined);
    assert.deepEqual((await query('{ __typename }')).data, { __typename: 'Query' });
    assert.deepEqual(warnings(), [`forge-extensions: the extensions directory ${dir} was removed (or is no longer a directory); its extensions stop serving until it is back`]);

    rmSync(dir);
    mkdirSync(dir);
    copyFileSync(fixturePath('counter-v2'), join(dir, 'counter.wasm'));
    await until('v2 serves', serving(sha256(fixture('counter-v2'))));
    assert.deepEqual((await query('{ version }')).data, { version: 2 });
    assert.deepEqual(errors(), []);
  });

  it('follows a symlink swapped to another release directory (a deploy that switches `current`)', async () => {
    // The directory becomes `releases/1`, and its path a symlink to it: nothing changes.
    mkdirSync(join(root.dir, 'releases'));
    renameSync(dir, join(root.dir, 'releases', '1'));
    symlinkSync(join(root.dir, 'releases', '1'), dir);
    mkdirSync(join(root.dir, 'releases', '2'));
    copyFileSync(fixturePath('counter-v2'), join(root.dir, 'releases', '2', 'counter.wasm'));
    await until('counter serves again from the symlink', serving(sha256(fixture('counter'))));

    // Switch the symlink atomically to release 2.
    symlinkSync(join(root.dir, 'releases', '2'), `${dir}.next`);
    renameSync(`${dir}.next`, dir);
    await until('release 2 serves', serving(sha256(fixture('counter-v2'))));
    assert.deepEqual((await query('{ version }')).data, { version: 2 });

    // Files written into the new release are noticed; the old release is not watched any more.
    writeFileSync(join(root.dir, 'releases', '2', 'counter.wasm'), fixture('counter'));
    await until('the rewrite in release 2 serves', serving(sha256(fixture('counter'))));
    copyFileSync(fixturePath('counter-v2'), join(root.dir, 'releases', '1', 'old.wasm'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(app.host.status().map((s) => s.name), ['counter']);
    assert.deepEqual(errors(), []);
  });
});
