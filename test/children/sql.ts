/** The SQL of issue 10's rows, shared by the tests and their child processes. */

/** Row 1: counts 10,000,000 rows (a few seconds), then fails with "integer overflow". */
export const ROW_1_SQL =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<10000000) SELECT abs(-9223372036854775807 - 1 + 0*count(*)) AS n FROM c';
/** Row 1 in a Mutation: a UNIQUE violation raised after seconds of counting (table `t(id INTEGER PRIMARY KEY, ...)`). */
export const ROW_1_WRITE_SQL =
  'INSERT INTO t(id) SELECT 1 + 0*count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<10000000) SELECT x FROM c) UNION ALL SELECT 1';
/** Row 2: never ends. */
export const ROW_2_SQL = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) AS n FROM c';
/** Row 3: asks SQLite for 500 MB at once. */
export const ROW_3_SQL = 'SELECT length(randomblob(500000000)) AS n';
