/**
 * The runtime end to end with real components: the JavaScript `issues` extension through its
 * whole lifecycle, data persisted across a restart, traps recovered from, the sandbox holding.
 * Every behaviour is checked in both isolation modes.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ExtensionCallError, ExtensionLoadError } from '../lib/runtime/errors.js';
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
        logger.lines.some((l) => l.level === 'info' && l.msg === 'applied 3 migrations' && (l.fields as { extension: string }).extension === 'issues'),
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

    it('answers the same through its SQL resolvers (default) and its guest resolvers (guestResolvers: true)', async () => {
      const answers: unknown[] = [];
      for (const guestResolvers of [false, true]) {
        const issues = await load('issues', { config: { repositories: true, guestResolvers }, name: `issues${guestResolvers ? 'guest' : 'sql'}` });
        if (guestResolvers) assert.doesNotMatch(issues.sdl, /@sql/);
        else assert.match(issues.sdl, /createIssue\(title: String!, body: String, repository: String\): Issue! @sql\(query: "INSERT INTO issues/);
        const write = (fieldName: string, args: Record<string, unknown>) => issues.resolveField({ typeName: 'Mutation', fieldName, arguments: args }, { write: true });
        const read = (fieldName: string, args: Record<string, unknown> = {}) => issues.resolveField({ typeName: 'Query', fieldName, arguments: args });
        const calls = issues.stats.calls;
        for (const [title, repository] of [['a1', 'a'], ['b1', 'b'], ['a2', 'a'], ['none', undefined], ['a3', 'a']] as const) await write('createIssue', { title, repository });
        await write('addComment', { issueId: '3', body: 'second' });
        await write('addComment', { issueId: 1, body: 'first' });
        await write('addComment', { issueId: '3', body: 'third' });
        await write('updateIssueStatus', { id: '2', status: 'CLOSED' });
        const batch = async (requests: Parameters<Extension['resolveBatch']>[0]) =>
          (await issues.resolveBatch(requests)).map((r) => (r.status === 'fulfilled' ? r.value : `${(r.reason as Error).message}`));
        const strip = (value: unknown) => JSON.parse(JSON.stringify(value, (k, v) => (k === 'createdAt' ? typeof v : k === 'issue_id' ? undefined : v)));
        const refused = async (fieldName: string, args: Record<string, unknown>) => {
          const e = await rejection(write(fieldName, args));
          return `${e.code}: ${e.message}`;
        };
        answers.push(
          strip({
            all: await read('issues'),
            page: await read('issues', { first: 2, after: '1' }),
            open: await read('issues', { status: 'OPEN', first: null }),
            none: await read('issues', { first: -1 }),
            one: await read('issue', { id: '3' }),
            missing: await read('issue', { id: 99 }),
            // One batch: every parent's comments, in id order; the window gives each repository its own `first`.
            comments: await batch([1, 2, 3].map((id) => ({ typeName: 'Issue', fieldName: 'comments', parent: { id } }))),
            byRepository: await batch(['a', 'b', 'zzz'].map((name) => ({ typeName: 'Repository', fieldName: 'issues', arguments: { first: 2 }, parent: { name } }))),
            closedInB: await batch([{ typeName: 'Repository', fieldName: 'issues', arguments: { status: 'CLOSED' }, parent: { name: 'b' } }]),
            errors: [
              await refused('createIssue', { title: ' \t\n' }),
              await refused('createIssue', { title: 'x'.repeat(201) }),
              // Migration 3: Unicode white space is blank; a NUL counts as a character, then is refused.
              await refused('createIssue', { title: '\u3000\u00a0\u2003\ufeff\u0085' }),
              await refused('createIssue', { title: `x\u0000${'y'.repeat(300)}` }),
              await refused('createIssue', { title: 'x\u0000y' }),
              await refused('addComment', { issueId: '99', body: 'lost' }),
              await refused('updateIssueStatus', { id: '99', status: 'OPEN' }),
            ],
          }),
        );
        assert.equal((await read('issues', { first: 500 }) as unknown[]).length, 5, 'the refused writes were rolled back');
        assert.ok(issues.stats.calls > calls);
      }
      const [sqlAnswers, guestAnswers] = answers as Array<Record<string, unknown>>;
      assert.deepEqual(sqlAnswers, guestAnswers);
      const titles = (list: unknown) => (list as Array<{ title: string }>).map((i) => i.title);
      assert.deepEqual(titles(sqlAnswers!['all']), ['a1', 'b1', 'a2', 'none', 'a3']);
      assert.deepEqual(titles(sqlAnswers!['page']), ['b1', 'a2']);
      assert.deepEqual(titles(sqlAnswers!['open']), ['a1', 'a2', 'none', 'a3']);
      assert.deepEqual(sqlAnswers!['none'], []);
      assert.deepEqual(sqlAnswers!['one'], { id: 3, repository: 'a', title: 'a2', body: null, status: 'OPEN', createdAt: 'string' });
      assert.equal(sqlAnswers!['missing'], null);
      assert.deepEqual((sqlAnswers!['comments'] as Array<Array<{ body: string }>>).map((r) => r.map((c) => c.body)), [['first'], [], ['second', 'third']]);
      assert.deepEqual((sqlAnswers!['byRepository'] as unknown[]).map(titles), [['a1', 'a2'], ['b1'], []]);
      assert.deepEqual((sqlAnswers!['closedInB'] as unknown[]).map(titles), [['b1']]);
      assert.deepEqual(sqlAnswers!['errors'], [
        'EXTENSION_ERROR: title must not be empty',
        'EXTENSION_ERROR: title is longer than 200 characters',
        'EXTENSION_ERROR: title must not be empty',
        'EXTENSION_ERROR: title is longer than 200 characters',
        'EXTENSION_ERROR: title must not contain a NUL character (U+0000)',
        'EXTENSION_ERROR: no issue with id 99',
        'EXTENSION_ERROR: no issue with id 99',
      ]);
    });

    it('refuses a maxTitle the database cannot honour, at init', async () => {
      for (const maxTitle of [201, 0, 2.5, '10']) {
        const e = await rejection(load('issues', { config: { maxTitle } }));
        assert.ok(e instanceof ExtensionLoadError, String(e));
        assert.equal(e.step, 'init');
        assert.match(e.message, /maxTitle must be an integer from 1 to 200 \(the database refuses longer titles\)/);
      }
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

    it('refuses an answer that is not UTF-8 (EXTENSION_BAD_RESPONSE) and keeps serving', async () => {
      const big = await load('big');
      const e = await rejection(big.resolveField({ typeName: 'Query', fieldName: 'notUtf8' }));
      assert.equal(e.code, 'EXTENSION_BAD_RESPONSE');
      assert.match(e.message, /the answer is not valid UTF-8 JSON/);
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
