/**
 * Issue 11 rows 1-4, 6, 8, each through a real guest (`probe`, which runs the SQL a request
 * chooses) on real SQLite files: transactions no extension can escape, values that bind as
 * written, what an extension is told and may ask. Rows 5 and storage faults: storage.test.ts.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { databasePath } from '../lib/data/names.js';
import { ExtensionLoadError } from '../lib/runtime/errors.js';
import type { Extension } from '../lib/runtime/extension.js';
import { rejection, tempDir } from './helpers.js';
import { probe, read, write } from './probe.js';

describe('data layer: transactions no extension can escape (issue 11 rows 1-2)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const ROW_1 = "CREATE TABLE IF NOT EXISTS x1(trigger, begin); COMMIT; INSERT INTO t(v) VALUES('after')";

  for (const fail of [true, false]) {
    it(`row 1: a Mutation batch with COMMIT after a \`trigger, begin\` table commits nothing (${fail ? 'then answers err' : 'answers ok'})`, async () => {
      const ext = await probe(dir, { config: { migrate: 'CREATE TABLE t(v)' } });
      try {
        const e = await rejection(write(ext, ROW_1, { mode: 'batch', fail }));
        assert.equal(e['code'], 'EXTENSION_ERROR');
        assert.match(e.message, /SQL refused \(COMMIT\)/);
        assert.deepEqual(await read(ext, "SELECT name FROM sqlite_master WHERE name = 'x1'"), []);
        assert.deepEqual(await read(ext, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
        // The extension keeps serving: the next Mutation commits as usual.
        await write(ext, "INSERT INTO t(v) VALUES ('next')");
        assert.deepEqual(await read(ext, 'SELECT v FROM t'), [{ v: 'next' }]);
      } finally {
        await ext.close();
      }
      // On the file itself, with another connection.
      const db = new Database(databasePath(dir, 'probe'), { readonly: true });
      assert.deepEqual(db.prepare('SELECT v FROM t').all(), [{ v: 'next' }]);
      assert.deepEqual(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'x1'").get(), { n: 0 });
      db.close();
    });
  }

  it('a conflict resolution or trigger that ends the host\'s transaction: the Mutation commits nothing, even answering ok', async () => {
    // A schema the SQL guard would refuse (`ON CONFLICT ROLLBACK`, `RAISE(ROLLBACK)`), as a file
    // made elsewhere could carry it.
    const db = new Database(databasePath(dir, 'probe'));
    db.exec(`CREATE TABLE u (v); CREATE TABLE z (v UNIQUE ON CONFLICT ROLLBACK); INSERT INTO z VALUES (1);
      CREATE TABLE r (v); CREATE TRIGGER no_r BEFORE INSERT ON r BEGIN SELECT RAISE(ROLLBACK, 'no rows in r'); END`);
    db.close();
    const ext = await probe(dir);
    try {
      for (const ends of ['INSERT INTO z VALUES (1)', 'INSERT INTO r VALUES (1)']) {
        // The guest swallows every err and answers ok: before, the statement after the rollback
        // ran in autocommit mode and was committed at once.
        const sql = JSON.stringify(["INSERT INTO u VALUES ('before')", ends, "INSERT INTO u VALUES ('after')"]);
        const e = await rejection(write(ext, sql, { mode: 'each' }));
        assert.equal(e['code'], 'EXTENSION_ERROR');
        assert.match(e.message, /transaction ended during the call/);
        assert.deepEqual(await read(ext, 'SELECT count(*) AS n FROM u'), [{ n: 0 }]);
      }
      // What the guest saw (it answers err with it): the ending statement's error says so, and
      // the next statement was refused, not run.
      const e = await rejection(write(ext, JSON.stringify(['INSERT INTO z VALUES (1)', "INSERT INTO u VALUES ('after')"]), { mode: 'each', fail: true }));
      assert.match(e.message, /UNIQUE constraint failed: z\.v: this ended the host's transaction/);
      assert.match(e.message, /refused: a statement earlier in this call ended the host's transaction/);
      assert.deepEqual(await read(ext, 'SELECT count(*) AS n FROM u'), [{ n: 0 }]);
      await write(ext, "INSERT INTO u VALUES ('next')");
      assert.deepEqual(await read(ext, 'SELECT v FROM u'), [{ v: 'next' }]);
    } finally {
      await ext.close();
    }
    const after = new Database(databasePath(dir, 'probe'), { readonly: true });
    assert.deepEqual(after.prepare('SELECT v FROM u').all(), [{ v: 'next' }]);
    after.close();
  });

  /** Tables, indexes, rows and user_version of the probe's file, read with another connection. */
  function snapshot(): unknown {
    const db = new Database(databasePath(dir, 'probe'), { readonly: true });
    try {
      const schema = db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
      const rows = db.prepare('SELECT x FROM before_migration ORDER BY x').all();
      return { schema, rows, userVersion: db.pragma('user_version', { simple: true }) };
    } finally {
      db.close();
    }
  }

  for (const [label, migrate, reason] of [
    [
      'row 2: COMMIT after a `trigger, begin` table',
      'CREATE TABLE IF NOT EXISTS keep(x); CREATE TABLE IF NOT EXISTS m1(trigger, begin); COMMIT; CREATE TABLE half_applied(x); INSERT INTO half_applied VALUES (42); SELECT no_such_function();',
      /SQL refused \(COMMIT\)/,
    ],
    ['a statement failing half-way', 'CREATE TABLE keep(x); PRAGMA user_version = 9; CREATE TABLE half_applied(x); INSERT INTO half_applied VALUES (42); SELECT no_such_function();', /no such function/],
  ] as const) {
    it(`${label}: a failed migration leaves the database exactly as before`, async () => {
      const db = new Database(databasePath(dir, 'probe'));
      db.exec('CREATE TABLE before_migration(x); INSERT INTO before_migration VALUES (1), (2); PRAGMA user_version = 3');
      db.close();
      const before = snapshot();
      const e = await rejection(probe(dir, { config: { migrate } }));
      assert.ok(e instanceof ExtensionLoadError);
      assert.equal(e.step, 'migrate');
      assert.match(e.message, reason);
      assert.deepEqual(snapshot(), before);
    });
  }
});

describe('data layer: values bind as written (issue 11 rows 3-4)', () => {
  let dir: string;
  let cleanup: () => void;
  let ext: Extension;
  before(async () => {
    ({ dir, cleanup } = tempDir());
    ext = await probe(dir, { config: { migrate: 'CREATE TABLE codes (code TEXT)' } });
  });
  after(async () => {
    await ext.close();
    cleanup();
  });

  it('row 3: JSON integers bind as INTEGER, other numbers as REAL', async () => {
    assert.deepEqual(await read(ext, 'SELECT typeof(?) AS t', [1]), [{ t: 'integer' }]);
    assert.deepEqual(await read(ext, 'SELECT ? / 2 AS r', [5]), [{ r: 2 }]);
    assert.deepEqual(await read(ext, "SELECT json_object('n', ?) AS j", [1]), [{ j: '{"n":1}' }]);
    await write(ext, 'INSERT INTO codes (code) VALUES (?)', { params: [123] });
    assert.deepEqual(await read(ext, "SELECT code FROM codes WHERE code = '123'"), [{ code: '123' }]);
    // Non-integral: REAL; `5.0` is the integer 5 (a JS guest cannot tell them apart); `2e60` is beyond 64 bits.
    assert.deepEqual(await read(ext, 'SELECT typeof(?) AS a, ? / 2 AS b, typeof(?) AS c', [1.5, 5.0, 2e60]), [{ a: 'real', b: 2, c: 'real' }]);
    assert.deepEqual(await read(ext, 'SELECT typeof(?) AS t, ? AS v', [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]), [{ t: 'integer', v: -Number.MAX_SAFE_INTEGER }]);
    assert.deepEqual(await read(ext, 'SELECT typeof(:b) AS t, :b AS v', { b: true }), [{ t: 'integer', v: 1 }]);
  });

  it('row 3: an integer literal beyond 2^53 binds exactly as written, also inside an array parameter', async () => {
    // Sent as JSON text (a JS number could not even hold these digits), as a Rust or Go guest would.
    const rows = async (sql: string, params: string) =>
      JSON.parse((await ext.resolveField({ typeName: 'Query', fieldName: 'sql', arguments: { sql, params } })) as string) as unknown;
    assert.deepEqual(await rows('SELECT typeof(?1) AS t, ?1 AS v, ?1 - 1 AS before', '[9007199254740993]'), [
      { t: 'integer', v: '9007199254740993', before: '9007199254740992' },
    ]);
    assert.deepEqual(await rows('SELECT ?1 AS v', '[-9223372036854775808]'), [{ v: '-9223372036854775808' }]);
    // Beyond 64 bits: REAL, as SQLite reads such a literal; beyond a REAL: an error, not infinity.
    assert.deepEqual(await rows('SELECT typeof(?1) AS t', '[9223372036854775808]'), [{ t: 'real' }]);
    assert.match((await rejection(rows('SELECT ?1 AS v', '[1e309]'))).message, /params: a number beyond the range of a REAL/);
    // Inside a JSON parameter, digit for digit.
    assert.deepEqual(await rows("SELECT json_extract(?1, '$[0]') = 9007199254740993 AS exact, ?1 AS j", '[[9007199254740993, 1.50]]'), [
      { exact: 1, j: '[9007199254740993,1.50]' },
    ]);
  });

  it('row 4: numbered parameters bind from an array by number', async () => {
    assert.deepEqual(await read(ext, 'SELECT ?2 AS b, ?1 AS a', [10, 20]), [{ b: 20, a: 10 }]);
    assert.deepEqual(await read(ext, 'SELECT ?1 + ?1 AS s', [7]), [{ s: 14 }]);
    // '?1' inside a string literal is not a parameter: plain `?` still binds in order.
    assert.deepEqual(await read(ext, "SELECT '?1' AS lit, ? AS p", [5]), [{ lit: '?1', p: 5 }]);
  });

  it('row 4: an array binds by SQLite\'s index whatever the parameter form; a wrong count is an error', async () => {
    // Gaps: `?3` alone is index 3 (indexes 1 and 2 exist, unnamed).
    assert.deepEqual(await read(ext, 'SELECT ?3 AS c', [1, 2, 3]), [{ c: 3 }]);
    // `?` after `?1` is index 2; `:name`, `@name`, `$name` take the next index, once per name.
    assert.deepEqual(await read(ext, 'SELECT ?1 AS a, ? AS b', [1, 2]), [{ a: 1, b: 2 }]);
    assert.deepEqual(await read(ext, 'SELECT :x AS x, @y AS y, :x AS x2, $z AS z, ? AS w', [1, 2, 3, 4]), [{ x: 1, y: 2, x2: 1, z: 3, w: 4 }]);
    // The object form keeps working, with or without the prefix, gaps included.
    assert.deepEqual(await read(ext, 'SELECT $a AS a, @b AS b, :c AS c', { $a: 1, b: 2, ':c': 3 }), [{ a: 1, b: 2, c: 3 }]);
    assert.deepEqual(await read(ext, 'SELECT ?3 AS c', { 3: 'three' }), [{ c: 'three' }]);
    assert.match((await rejection(read(ext, 'SELECT ? AS a', { 1: 5 }))).message, /the statement has anonymous \? parameters: pass params as a JSON array/);
    // `? ... ?1` is one index (SQLite numbers `?` as 1, and `?1` is 1): a second value would be
    // silently dropped, so it is refused, like any array whose length is not the index count.
    for (const [sql, params, takes] of [
      ['SELECT ? AS a, ?1 AS b', [1, 2], '1 parameter (?1)'],
      ['SELECT ?3 AS c', [1], '3 parameters (?1 to ?3)'],
      ['SELECT ? AS a', [1, 2], '1 parameter (?1)'],
      ['SELECT 1 AS a', [1], 'no parameters'],
    ] as const) {
      const e = await rejection(read(ext, sql, params));
      assert.equal(e['code'], 'EXTENSION_ERROR');
      assert.match(e.message, new RegExp(`the statement takes ${takes.replace(/[?()]/g, '\\$&')}, but params has ${params.length} value`));
    }
    // The extension keeps serving.
    assert.deepEqual(await read(ext, 'SELECT ?1 AS a', [1]), [{ a: 1 }]);
  });
});

describe('data layer: what an extension is told and may ask (issue 11 rows 6, 8)', () => {
  let dir: string;
  let cleanup: () => void;
  let ext: Extension;
  before(async () => {
    ({ dir, cleanup } = tempDir());
    ext = await probe(dir, { config: { migrate: 'CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent (id))' } });
  });
  after(async () => {
    await ext.close();
    cleanup();
  });

  it('row 6: init and migrate receive the file name, never a host path', async () => {
    const paths = JSON.parse((await ext.resolveField({ typeName: 'Query', fieldName: 'dbPaths' })) as string) as Record<string, string>;
    assert.deepEqual(paths, { init: 'forge_ext_probe.db', migrate: 'forge_ext_probe.db' });
  });

  it('row 8: sqlite_compileoption_get and setting foreign_keys are refused; foreign keys are enforced', async () => {
    for (const [sql, rule] of [
      ['SELECT sqlite_compileoption_get(0)', 'sqlite_compileoption_get'],
      ['PRAGMA foreign_keys = ON', 'PRAGMA foreign_keys'],
      ['PRAGMA foreign_keys = OFF', 'PRAGMA foreign_keys'],
    ] as const) {
      const e = await rejection(read(ext, sql));
      assert.equal(e['code'], 'EXTENSION_ERROR');
      assert.ok(e.message.startsWith(`SQL refused (${rule})`), e.message);
    }
    assert.deepEqual(await read(ext, 'PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
    const e = await rejection(write(ext, 'INSERT INTO child (p) VALUES (42)'));
    assert.match(e.message, /FOREIGN KEY constraint failed/);
  });
});
