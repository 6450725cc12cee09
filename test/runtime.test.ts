/**
 * The runtime end to end with real components: the JavaScript `issues` extension through its
 * whole lifecycle, data persisted across a restart, traps recovered from, the sandbox holding.
 * Every behaviour is checked in both isolation modes.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ExtensionCallError } from '../lib/runtime/errors.js';
import type { Extension } from '../lib/runtime/extension.js';
import { loadExtension, type Isolation, type LoadExtensionOptions } from '../lib/runtime/load.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { fixturePath, recordingLogger, rejection, tempDir, TEST_CACHE_DIR } from './helpers.js';

for (const isolation of ['inline', 'worker'] as Isolation[]) {
  describe(`runtime (${isolation})`, () => {
    let dir: string;
    let cleanup: () => void;
    const open: Extension[] = [];
    const load = async (fixture: string, options: LoadExtensionOptions = {}) => {
      const ext = await loadExtension(fixturePath(fixture), { dataDir: dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, isolation, ...options });
      open.push(ext);
      return ext;
    };
    beforeEach(() => ({ dir, cleanup } = tempDir()));
    afterEach(async () => {
      await Promise.all(open.splice(0).map((e) => e.close()));
      cleanup();
    });

    it('runs the issues extension: init, migrate, create, query, comment, and keeps data across a restart', async () => {
      const logger = recordingLogger();
      let issues = await load('issues', { logger });
      assert.equal(issues.name, 'issues');
      assert.match(issues.version, /^[0-9a-f]{64}$/);
      assert.equal(issues.contractVersion, '0.1.0');
      assert.match(issues.sdl, /type Issue \{/);
      assert.ok(
        logger.lines.some((l) => l.level === 'info' && l.msg === 'applied 1 migration' && (l.fields as { extension: string }).extension === 'issues'),
        'the guest log line reaches the host logger, tagged with the extension',
      );

      const created = (await issues.resolveField(
        { typeName: 'Mutation', fieldName: 'createIssue', arguments: { title: 'Crash on save', body: 'steps...' } },
        { write: true },
      )) as { id: number; status: string; title: string; createdAt: string };
      assert.equal(created.title, 'Crash on save');
      assert.equal(created.status, 'OPEN');
      assert.match(created.createdAt, /^\d{4}-\d\d-\d\dT/);

      await issues.resolveField({ typeName: 'Mutation', fieldName: 'addComment', arguments: { issueId: created.id, body: 'me too' } }, { write: true });
      await issues.resolveField({ typeName: 'Mutation', fieldName: 'updateIssueStatus', arguments: { id: created.id, status: 'CLOSED' } }, { write: true });
      const closed = await issues.resolveField({ typeName: 'Query', fieldName: 'issues', arguments: { status: 'CLOSED' } });
      assert.deepEqual((closed as Array<{ id: number }>).map((i) => i.id), [created.id]);
      assert.deepEqual(await issues.resolveField({ typeName: 'Query', fieldName: 'issues', arguments: { status: 'OPEN' } }), []);

      // Restart on the same data directory: migrations do not run twice, the data is there.
      await issues.close();
      logger.lines.length = 0;
      issues = await load('issues', { logger });
      assert.ok(!logger.lines.some((l) => /applied/.test(l.msg)), 're-running migrate is a no-op');
      const again = (await issues.resolveField({ typeName: 'Query', fieldName: 'issue', arguments: { id: created.id } })) as { status: string };
      assert.equal(again.status, 'CLOSED');
      const comments = await issues.resolveField({ typeName: 'Issue', fieldName: 'comments', parent: again });
      assert.deepEqual((comments as Array<{ body: string }>).map((c) => c.body), ['me too']);
    });

    it('turns an extension err into EXTENSION_ERROR and rolls its writes back', async () => {
      const issues = await load('issues', { config: { maxTitle: 5 } });
      const e = await rejection(issues.resolveField({ typeName: 'Mutation', fieldName: 'createIssue', arguments: { title: 'far too long' } }, { write: true }));
      assert.ok(e instanceof ExtensionCallError);
      assert.equal(e.code, 'EXTENSION_ERROR');
      assert.equal(e.extension, 'issues');
      assert.equal(e.message, 'title is longer than 5 characters');

      const counter = await load('counter');
      await rejection(counter.resolveField({ typeName: 'Mutation', fieldName: 'bumpThenFail' }, { write: true }));
      assert.deepEqual(await counter.resolveField({ typeName: 'Query', fieldName: 'counter' }), [{ n: 0 }], 'the write before the err is rolled back');
      await counter.resolveField({ typeName: 'Mutation', fieldName: 'bump' }, { write: true });
      assert.deepEqual(await counter.resolveField({ typeName: 'Query', fieldName: 'counter' }), [{ n: 1 }]);
    });

    it('refuses writes from a query field (read-only)', async () => {
      const counter = await load('counter');
      const e = await rejection(counter.resolveField({ typeName: 'Mutation', fieldName: 'bump' }));
      assert.equal(e.code, 'EXTENSION_ERROR');
      assert.match(e.message, /^read-only: this call resolves a Query field/);
    });

    it('recovers from a trap: the call fails clearly, the next call works on a fresh instance', async () => {
      const trap = await load('trap');
      for (const [field, message] of [
        ['boom', /wasm `unreachable` instruction executed/],
        ['oob', /out of bounds memory access/],
        ['deep', /Maximum call stack size exceeded/],
      ] as const) {
        const e = await rejection(trap.resolveField({ typeName: 'Query', fieldName: field }));
        assert.equal(e.code, 'EXTENSION_CRASHED', field);
        assert.match(e.message, message);
        assert.equal(await trap.resolveField({ typeName: 'Query', fieldName: 'trapOk' }), 'fine', `after ${field}`);
      }
      assert.equal(trap.stats.crashes, 3);
    });

    it('refuses an oversized answer and keeps serving', async () => {
      const big = await load('big');
      const e = await rejection(big.resolveField({ typeName: 'Query', fieldName: 'huge' }));
      assert.equal(e.code, 'EXTENSION_RESPONSE_TOO_LARGE');
      assert.match(e.message, /9437186 bytes, above the limit of 8388608/);
      assert.equal(((await big.resolveField({ typeName: 'Query', fieldName: 'modest' })) as string).length, 1024);
    });

    it('gives a guest no environment, no directory, no socket, and nothing through a forged handle', async () => {
      const escape = await load('escape');
      const ask = (fieldName: string) => escape.resolveField({ typeName: 'Query', fieldName });
      assert.equal(await ask('env'), 0);
      assert.equal(await ask('preopens'), 0);
      assert.equal(await ask('socket'), 'access-denied');
      assert.equal(await ask('openForged'), 'refused');
      // The JavaScript guest sees no Node globals either.
      const probe = await load('probe');
      assert.deepEqual(await probe.resolveField({ typeName: 'Query', fieldName: 'globals' }), []);
    });

    it('gives a guest working clocks and randomness', async () => {
      const probe = await load('probe');
      const before = Date.now();
      const now = (await probe.resolveField({ typeName: 'Query', fieldName: 'now' })) as number;
      assert.ok(now >= before - 5 && now <= Date.now() + 5, `guest clock ${now} vs host ${before}`);
      const randoms = await Promise.all([1, 2, 3].map(() => probe.resolveField({ typeName: 'Query', fieldName: 'random' })));
      assert.equal(new Set(randoms).size, 3, 'Math.random must not repeat');
    });

    it('answers a batch in one wasm call, each entry on its own', async () => {
      const counter = await load('counter');
      const calls = counter.stats.calls;
      const results = await counter.resolveBatch([
        { typeName: 'Query', fieldName: 'hello' },
        { typeName: 'Query', fieldName: 'nope' },
        { typeName: 'Query', fieldName: 'counter' },
      ]);
      assert.equal(counter.stats.calls - calls, 1);
      assert.deepEqual(results[0], { status: 'fulfilled', value: 'world' });
      assert.equal(results[1]!.status, 'rejected');
      assert.equal((results[1] as PromiseRejectedResult).reason.message, 'unknown field');
      assert.deepEqual(results[2], { status: 'fulfilled', value: [{ n: 0 }] });
    });

    it('keeps its files in dataDir: the database and (by default) the transpile cache', async () => {
      await load('counter', { cacheDir: undefined });
      assert.ok(existsSync(join(dir, 'forge_ext_counter.db')));
      assert.equal(readdirSync(join(dir, '.cache')).length, 1);
    });
  });
}
