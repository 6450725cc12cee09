/**
 * Property-based tests of the SQL sandbox and the transaction checks (issue 11): fast-check
 * generates spellings of forbidden statements and of transaction control — case, comments,
 * quoting, identifiers named like keywords, `;` inside strings and comments, trigger bodies —
 * and every verdict is checked on a real SQLite file through {@link ExtensionDatabase}.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { ExtensionDatabase } from '../lib/data/database.js';
import { assertSqlAllowed, SqlRefused } from '../lib/data/sql-guard.js';
import { splitStatements } from '../lib/data/sql-tokens.js';
import { assertNoTransactionControl } from '../lib/data/transaction-check.js';
import { tempDir } from './helpers.js';

const RUNS = 300;

/** A keyword in random letter case. */
const keyword = (word: string) =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((upper) =>
    [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''),
  );

/** What may separate two tokens: whitespace, block comments (holding `;`), line comments. */
const gap = fc.oneof(
  fc.constantFrom(' ', '\n', '\t', '  \r\n '),
  fc.constantFrom('/* ; COMMIT; */', '/**/', '/* BEGIN */ ', '/* end; */\n').map((c) => ` ${c} `),
  fc.constantFrom('-- ; COMMIT\n', '-- BEGIN;\n', '--\n').map((c) => ` ${c}`),
);

/** Joins keywords with generated gaps. */
const spelled = (...words: string[]) =>
  fc.tuple(...words.map(keyword), fc.array(gap, { minLength: words.length, maxLength: words.length })).map((parts) => {
    const gaps = parts.pop() as string[];
    return (parts as string[]).map((w, i) => (i === 0 ? w : gaps[i] + w)).join('');
  });

/** Transaction control, every form SQLite accepts. */
const transactionControl = fc.oneof(
  spelled('begin'),
  spelled('begin', 'immediate'),
  spelled('begin', 'deferred', 'transaction'),
  spelled('begin', 'exclusive', 'transaction'),
  spelled('commit'),
  spelled('commit', 'transaction'),
  spelled('end'),
  spelled('end', 'transaction'),
  spelled('rollback'),
  spelled('rollback', 'transaction'),
);

/** Other forbidden statements. */
const otherForbidden = fc.oneof(
  spelled('attach', "'/tmp/forge-prop.db'", 'as', 'x'),
  spelled('detach', 'main'),
  spelled('vacuum', 'into', "'/tmp/forge-prop-copy.db'"),
  spelled('select', 'load_extension', "('/tmp/evil.so')"),
  spelled('pragma', 'journal_mode', '=', 'delete'),
  spelled('pragma', 'query_only', '=', '0'),
  spelled('pragma', 'database_list'),
  spelled('select', '*', 'from', 'pragma_database_list'),
  spelled('select', 'sqlite_compileoption_get(0)'),
);

/**
 * Harmless statements that look dangerous to a naive reader: keyword-named identifiers (bare
 * where SQLite allows it, quoted otherwise), `;` and keywords inside strings, CASE ... END, a
 * real trigger with a `;`-separated body. Each inserts nothing the tests look for.
 */
const harmless = fc.oneof(
  fc.constantFrom(
    'CREATE TABLE IF NOT EXISTS k1(trigger, begin, "end", [commit], `rollback`)',
    "INSERT INTO k1(trigger, begin) VALUES ('; COMMIT; --', 'BEGIN')",
    "SELECT 'END; COMMIT' AS \"commit\", CASE WHEN 1 THEN 'begin' ELSE 'end' END AS begin",
    'CREATE TEMP TRIGGER IF NOT EXISTS tr AFTER INSERT ON k1 BEGIN SELECT CASE 1 WHEN 1 THEN 2 END; SELECT 3; END',
    'CREATE INDEX IF NOT EXISTS trigger ON k1(begin)',
    'SAVEPOINT begin; RELEASE begin',
    'SAVEPOINT s; ROLLBACK TO s; RELEASE s',
    "SELECT 1 /* ; COMMIT */ -- ; ROLLBACK\n",
    'CREATE TABLE IF NOT EXISTS k2(x); DROP TABLE k2',
  ),
  spelled('select', '1', 'as', '"begin"'),
);

/** A batch: harmless statements around one forbidden one, joined by `;` (sometimes doubled). */
const batchWith = (forbidden: fc.Arbitrary<string>) =>
  fc
    .tuple(fc.array(harmless, { maxLength: 3 }), forbidden, fc.array(harmless, { maxLength: 2 }), fc.constantFrom(';', ';\n', ' ; ;'))
    .map(([before, bad, after, sep]) => [...before, bad, "INSERT INTO marker(v) VALUES ('after')", ...after].join(sep));

describe('SQL sandbox, property-based', () => {
  let dir: string;
  let cleanup: () => void;
  let db: ExtensionDatabase;
  before(() => {
    ({ dir, cleanup } = tempDir());
    db = new ExtensionDatabase(dir, 'prop');
    db.write(() => db.executeBatch('CREATE TABLE marker (v); CREATE TABLE k1(trigger, begin, "end", [commit], `rollback`)'));
  });
  after(() => {
    db.close();
    cleanup();
  });
  const markers = () => JSON.parse(Buffer.from(db.query('SELECT count(*) AS n FROM marker', Buffer.from('[]'))).toString()) as [{ n: number }];

  it('refuses every spelling of transaction control, in any batch, and nothing of the batch is committed', () => {
    fc.assert(
      fc.property(batchWith(transactionControl), (sql) => {
        assert.throws(() => assertSqlAllowed(sql), SqlRefused, sql);
        assert.throws(() => db.write(() => db.executeBatch(sql)), SqlRefused, sql);
        assert.equal(markers()[0].n, 0, sql);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses every spelling of the other forbidden statements', () => {
    fc.assert(
      fc.property(batchWith(otherForbidden), (sql) => {
        assert.throws(() => assertSqlAllowed(sql), SqlRefused, sql);
        assert.throws(() => db.write(() => db.executeBatch(sql)), SqlRefused, sql);
        assert.equal(markers()[0].n, 0, sql);
      }),
      { numRuns: RUNS },
    );
  });

  it('runs every harmless batch, split where SQLite splits it', () => {
    fc.assert(
      fc.property(fc.array(harmless, { minLength: 1, maxLength: 5 }), fc.constantFrom(';', ';\n', ';;'), (list, sep) => {
        const sql = list.join(sep);
        assert.doesNotThrow(() => assertSqlAllowed(sql), sql);
        // Every piece prepares as exactly one statement (better-sqlite3 refuses more).
        db.write(() => db.executeBatch(sql));
      }),
      { numRuns: RUNS },
    );
  });

  it('SQLite itself (the second line) refuses transaction control, whatever the tokenizer says', () => {
    const raw = new Database(':memory:');
    try {
      fc.assert(
        fc.property(transactionControl, (sql) => {
          // Each statement alone, as SQLite compiles it: no tokenizer involved.
          for (const { text } of splitStatements(sql)) {
            assert.throws(() => assertNoTransactionControl(raw, text), /transaction control/, text);
          }
        }),
        { numRuns: RUNS },
      );
      for (const ok of ['SELECT 1', 'SAVEPOINT a', 'RELEASE a', 'SELECT ?', 'SELECT :named', 'EXPLAIN COMMIT']) {
        assert.doesNotThrow(() => assertNoTransactionControl(raw, ok), ok);
      }
    } finally {
      raw.close();
    }
  });
});
