/**
 * The host side of the `database` import, on real SQLite files: JSON in and out, integers
 * beyond 2^53, transactions, read-only mode, and the SQL sandbox (also from inside a guest).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { ExtensionDatabase } from '../lib/data/database.js';
import { databasePath } from '../lib/data/names.js';
import { assertSqlAllowed, SqlRefused } from '../lib/data/sql-guard.js';
import { storageFaultOf, StorageFaultError } from '../lib/data/storage-fault.js';
import { loadExtension } from '../lib/runtime/load.js';
import { silentLogger } from '../lib/runtime/logger.js';
import { fixturePath, rejection, tempDir, TEST_CACHE_DIR } from './helpers.js';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const parse = (b: Uint8Array) => JSON.parse(Buffer.from(b).toString('utf8')) as unknown;

describe('ExtensionDatabase', () => {
  let dir: string;
  let cleanup: () => void;
  let db: ExtensionDatabase;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    db = new ExtensionDatabase(dir, 'demo');
    db.write(() => db.executeBatch('CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, b BLOB, j TEXT)'));
  });
  afterEach(() => {
    db.close();
    cleanup();
  });

  it('binds positional and named JSON params and returns rows as JSON', () => {
    db.write(() => {
      db.execute('INSERT INTO t (n, s) VALUES (?, ?)', bytes([1, 'one']));
      db.execute('INSERT INTO t (n, s) VALUES (:n, :s)', bytes({ n: 2, s: 'two' }));
      db.execute('INSERT INTO t (n, s) VALUES (@n, $s)', bytes({ '@n': 3, $s: 'three' }));
    });
    assert.deepEqual(parse(db.query('SELECT n, s FROM t ORDER BY n', bytes([]))), [
      { n: 1, s: 'one' },
      { n: 2, s: 'two' },
      { n: 3, s: 'three' },
    ]);
    assert.deepEqual(parse(db.query('SELECT s FROM t WHERE n = ?', bytes([2]))), [{ s: 'two' }]);
  });

  it('returns {changes, lastInsertRowid} from execute', () => {
    const info = db.write(() => parse(db.execute('INSERT INTO t (n) VALUES (?), (?)', bytes([1, 2]))));
    assert.deepEqual(info, { changes: 2, lastInsertRowid: 2 });
  });

  it('keeps integers beyond 2^53 exact, as decimal strings', () => {
    db.write(() => {
      db.execute('INSERT INTO t (id, n) VALUES (1, 9007199254740993)', bytes([]));
      // A big integer sent as a string is stored as an exact INTEGER (column affinity).
      db.execute('INSERT INTO t (id, n) VALUES (2, ?)', bytes(['-9223372036854775808']));
      db.execute('INSERT INTO t (id, n) VALUES (3, ?)', bytes([Number.MAX_SAFE_INTEGER]));
    });
    assert.deepEqual(parse(db.query('SELECT n, typeof(n) AS type FROM t ORDER BY id', bytes([]))), [
      { n: '9007199254740993', type: 'integer' },
      { n: '-9223372036854775808', type: 'integer' },
      { n: Number.MAX_SAFE_INTEGER, type: 'integer' },
    ]);
  });

  it('encodes blobs as base64, binds booleans as 1/0 and objects as JSON text', () => {
    db.write(() => db.execute("INSERT INTO t (id, n, b, j) VALUES (1, ?, x'00ff10', ?)", bytes([true, { a: [1] }])));
    assert.deepEqual(parse(db.query("SELECT n, b, json_extract(j, '$.a[0]') AS a FROM t", bytes([]))), [{ n: 1, b: 'AP8Q', a: 1 }]);
  });

  it('rejects params that are not a JSON array or object', () => {
    assert.throws(() => db.query('SELECT 1', Buffer.from('{oops')), /params are not valid UTF-8 JSON/);
    assert.throws(() => db.query('SELECT 1', bytes(42)), /params must be a JSON array/);
  });

  it('is read-only outside write(), with a message that says why', () => {
    assert.throws(() => db.execute('INSERT INTO t (n) VALUES (1)', bytes([])), /^Error: read-only: this call resolves a Query field/);
    assert.throws(() => db.executeBatch('DELETE FROM t'), /read-only/);
    assert.throws(() => db.query('INSERT INTO t (n) VALUES (1) RETURNING id', bytes([])), /read-only/);
  });

  it('rolls a write() back completely when its function throws', () => {
    assert.throws(() =>
      db.write(() => {
        db.execute('INSERT INTO t (n) VALUES (1)', bytes([]));
        db.executeBatch('CREATE TABLE u (x)');
        throw new Error('stop');
      }),
    );
    assert.deepEqual(parse(db.query('SELECT count(*) AS c FROM t', bytes([]))), [{ c: 0 }]);
    assert.deepEqual(parse(db.query("SELECT name FROM sqlite_master WHERE name = 'u'", bytes([]))), []);
  });

  it('ends a transaction a read left open (an unreleased SAVEPOINT)', () => {
    db.read(() => db.executeBatch('SAVEPOINT s1'));
    // If the savepoint were still open, BEGIN IMMEDIATE inside write() would fail.
    db.write(() => db.execute('INSERT INTO t (n) VALUES (1)', bytes([])));
    assert.deepEqual(parse(db.query('SELECT count(*) AS c FROM t', bytes([]))), [{ c: 1 }]);
  });

  it('never lets a name escape dataDir', () => {
    for (const name of ['../evil', 'a/b', 'UPPER', '', 'x'.repeat(65), '1abc', 'a b']) {
      assert.throws(() => databasePath(dir, name), /invalid extension name/, name);
    }
    assert.equal(databasePath('/data', 'my-ext_2'), '/data/forge_ext_my-ext_2.db');
  });
});

describe('SQL sandbox', () => {
  const refused: Array<[rule: string, sql: string]> = [
    ['ATTACH', "ATTACH DATABASE '/tmp/other.db' AS other"],
    ['ATTACH', "attach '/tmp/other.db' as other"],
    ['ATTACH', "/* hi */ AtTaCh\n'/tmp/x.db' AS x"],
    ['ATTACH', "SELECT 1; -- comment\n ATTACH '/tmp/x.db' AS x"],
    ['DETACH', 'DETACH DATABASE other'],
    ['VACUUM INTO', "VACUUM INTO '/tmp/copy.db'"],
    ['VACUUM INTO', "vacuum main /* x */ into '/tmp/copy.db'"],
    ['load_extension', "SELECT load_extension('/tmp/evil.so')"],
    ['load_extension', 'SELECT "LOAD_EXTENSION"(\'/tmp/evil.so\')'],
    ['load_extension', "SELECT [load_extension]('x')"],
    ['PRAGMA database_list', 'PRAGMA database_list'],
    ['PRAGMA journal_mode', 'pragma JOURNAL_MODE = DELETE'],
    ['PRAGMA writable_schema', 'PRAGMA main.writable_schema = 1'],
    ['PRAGMA temp_store_directory', "PRAGMA temp_store_directory = '/tmp'"],
    ['PRAGMA query_only', 'PRAGMA query_only = 0'],
    ['PRAGMA schema', 'PRAGMA temp.user_version'],
    ['PRAGMA table_info', "PRAGMA table_info = 't'"],
    ['PRAGMA database_list', 'SELECT * FROM pragma_database_list'],
    ['PRAGMA database_list', 'SELECT * FROM "pragma_database_list"()'],
    ['BEGIN', 'BEGIN IMMEDIATE'],
    ['COMMIT', 'COMMIT'],
    ['END', 'END TRANSACTION'],
    ['ROLLBACK', 'ROLLBACK'],
    // Issue 11 row 1: `trigger` and `begin` as column names do not open a trigger body.
    ['COMMIT', "CREATE TABLE IF NOT EXISTS x1(trigger, begin); COMMIT; INSERT INTO t(v) VALUES('after')"],
    ['COMMIT', 'CREATE TABLE m1(x, trigger, y, begin); CREATE TABLE m2(end); COMMIT'],
    ['BEGIN', 'CREATE INDEX trigger ON t(begin); BEGIN'],
    // Issue 11 row 8: the function form of the refused PRAGMA compile_options; foreign_keys is the host's.
    ['sqlite_compileoption_get', 'SELECT sqlite_compileoption_get(0)'],
    ['sqlite_compileoption_used', "SELECT sqlite_compileoption_used('THREADSAFE')"],
    ['PRAGMA foreign_keys', 'pragma foreign_keys = ON'],
    ['PRAGMA foreign_keys', 'PRAGMA foreign_keys(0)'],
    // Conflict resolutions that roll back the whole (host's) transaction, not the statement.
    ['OR ROLLBACK', 'INSERT OR ROLLBACK INTO t VALUES (1)'],
    ['OR ROLLBACK', 'update /* */ OR\nrollback t SET v = 1'],
    ['ON CONFLICT ROLLBACK', 'CREATE TABLE z (v UNIQUE ON CONFLICT ROLLBACK)'],
    ['RAISE(ROLLBACK)', "CREATE TRIGGER tr BEFORE INSERT ON t BEGIN SELECT RAISE ( ROLLBACK, 'no'); END"],
  ];
  for (const [rule, sql] of refused) {
    it(`refuses ${JSON.stringify(sql)}`, () => {
      assert.throws(() => assertSqlAllowed(sql), (e: unknown) => e instanceof SqlRefused && e.rule === rule && e.message.startsWith(`SQL refused (${rule})`));
    });
  }

  const allowed = [
    "SELECT 'ATTACH' AS word, \"attach\" AS col FROM t",
    'SELECT 1 -- ATTACH in a comment',
    'PRAGMA user_version',
    'PRAGMA user_version = 3',
    'PRAGMA foreign_keys',
    'CREATE TABLE x1(trigger, begin)',
    'CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END',
    'CREATE TEMPORARY TRIGGER IF NOT EXISTS tr AFTER INSERT ON t WHEN CASE WHEN 1 THEN 1 END BEGIN SELECT CASE 1 WHEN 1 THEN 2 END; END',
    'EXPLAIN QUERY PLAN SELECT 1',
    "PRAGMA table_info('t')",
    'PRAGMA main.table_info(t)',
    'SELECT * FROM pragma_table_info(\'t\')',
    'SAVEPOINT s; RELEASE s',
    'ROLLBACK TO SAVEPOINT s',
    'ROLLBACK TRANSACTION TO s',
    'SELECT CASE WHEN 1 THEN 2 END',
    'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET n = CASE WHEN n > 1 THEN 1 ELSE 0 END; END',
    'VACUUM',
    'INSERT OR ABORT INTO t VALUES (1)',
    "CREATE TRIGGER tr BEFORE INSERT ON t BEGIN SELECT RAISE(ABORT, 'no'); END",
    'INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING',
    'CREATE TABLE q (rollback)',
  ];
  for (const sql of allowed) {
    it(`allows ${JSON.stringify(sql)}`, () => assert.doesNotThrow(() => assertSqlAllowed(sql)));
  }

  it('refuses each forbidden form from inside a real guest, and no stray file appears', async () => {
    const { dir, cleanup } = tempDir();
    const tmpBefore = new Set(readdirSync(tmpdir()));
    const probe = await loadExtension(fixturePath('probe'), { dataDir: dir, cacheDir: TEST_CACHE_DIR, logger: silentLogger, isolation: 'inline' });
    try {
      for (const [rule, sql] of refused) {
        for (const mode of ['query', 'execute', 'batch']) {
          const e = await rejection(probe.resolveField({ typeName: 'Mutation', fieldName: 'sqlWrite', arguments: { sql, mode } }, { write: true }));
          assert.equal(e.code, 'EXTENSION_ERROR');
          assert.ok(String(e.message).startsWith(`SQL refused (${rule})`), `${sql} (${mode}): ${e.message}`);
        }
      }
      // Temporary tables stay in memory, too.
      await probe.resolveField(
        { typeName: 'Mutation', fieldName: 'sqlWrite', arguments: { sql: 'CREATE TEMP TABLE scratch (x); INSERT INTO scratch VALUES (1)', mode: 'batch' } },
        { write: true },
      );
    } finally {
      await probe.close();
    }
    for (const f of readdirSync(dir)) assert.match(f, /^forge_ext_probe\.db(-wal|-shm)?$/, `stray file in dataDir: ${f}`);
    const strays = readdirSync(tmpdir()).filter((f) => !tmpBefore.has(f) && /other|copy|evil|etilqs/.test(f));
    assert.deepEqual(strays, [], 'no file outside dataDir');
    cleanup();
  });
});

describe('storage faults', () => {
  // better-sqlite3's own error class, as it throws it; the codes are SQLite's extended result codes.
  const error = (code: string) => new Database.SqliteError('message from SQLite', code);

  it('classifies SQLite result codes: full, I/O (cannot open, not writable), busy, corrupt, and nothing else', () => {
    const cases: Array<[string, string | undefined]> = [
      ['SQLITE_FULL', 'full'],
      ['SQLITE_IOERR', 'io'],
      ['SQLITE_IOERR_WRITE', 'io'],
      ['SQLITE_IOERR_FSYNC', 'io'],
      ['SQLITE_CORRUPT', 'corrupt'],
      ['SQLITE_CORRUPT_INDEX', 'corrupt'],
      ['SQLITE_NOTADB', 'corrupt'],
      ['SQLITE_CANTOPEN', 'io'],
      ['SQLITE_READONLY_DIRECTORY', 'io'],
      ['SQLITE_BUSY', 'busy'],
      ['SQLITE_BUSY_SNAPSHOT', 'busy'],
      // A plain SQLITE_READONLY outside a write is the host's query_only rule, not the file.
      ['SQLITE_READONLY', undefined],
      ['SQLITE_CONSTRAINT_UNIQUE', undefined],
      ['SQLITE_ERROR', undefined],
    ];
    assert.equal(storageFaultOf(error('SQLITE_READONLY'), '/d/forge_ext_x.db', true)?.kind, 'io');
    for (const [code, kind] of cases) {
      const fault = storageFaultOf(error(code), '/secret/host/path/forge_ext_x.db');
      assert.equal(fault?.kind, kind, code);
      if (fault) {
        assert.equal(fault.sqliteCode, code);
        assert.ok(fault.message.includes('forge_ext_x.db') && !fault.message.includes('/secret/'), fault.message);
      }
    }
  });

  it('a file that is not a database fails to open with a corrupt fault and is not written', () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = databasePath(dir, 'junk');
      writeFileSync(path, Buffer.alloc(8192, 7));
      assert.throws(
        () => new ExtensionDatabase(dir, 'junk', { verifyIntegrity: true }),
        (e: unknown) => e instanceof StorageFaultError && e.fault.kind === 'corrupt' && e.fault.sqliteCode === 'SQLITE_NOTADB',
      );
      assert.deepEqual(readFileSync(path), Buffer.alloc(8192, 7));
    } finally {
      cleanup();
    }
  });
});

describe('the SQL tokenizer matches the engine it guards', () => {
  it('SQLite is built without TCL variables ($a(...) would swallow a quote the tokenizer reads as one)', () => {
    const db = new Database(':memory:');
    try {
      assert.ok(db.prepare("SELECT 1 FROM pragma_compile_options WHERE compile_options = 'OMIT_TCL_VARIABLE'").get());
      assert.throws(() => db.prepare("SELECT $a(') AS v"), /syntax error/);
    } finally {
      db.close();
    }
  });
});
