/**
 * Issue 11 row 7: every damaged transpile-cache entry heals itself (deleted, transpiled again,
 * with a warning) and damaged glue never executes in the host. Real files, real fixture, and a
 * fresh compiler standing for a restarted server (no in-memory cache).
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ComponentCompiler } from '../lib/runtime/compile.js';
import { loadExtension } from '../lib/runtime/load.js';
import { fixturePath, recordingLogger, tempDir } from './helpers.js';

const CAP = 16 * 2 ** 20;

describe('transpile cache: damaged entries heal, damaged glue never runs (issue 11 row 7)', () => {
  let dir: string;
  let cleanup: () => void;
  let marker: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    marker = join(dir, 'glue-ran');
  });
  afterEach(() => cleanup());

  /** Writes the cache entry of the `counter` fixture (as a first server start would); returns its directory. */
  async function primedEntry(cacheDir: string): Promise<string> {
    await new ComponentCompiler(cacheDir).compile(readFileSync(fixturePath('counter')), CAP);
    const [entry, ...others] = readdirSync(cacheDir);
    assert.equal(others.length, 0);
    const files = readdirSync(join(cacheDir, entry!));
    assert.ok(files.includes('glue.mjs') && files.includes('manifest.json') && files.some((f) => f.endsWith('.wasm')), files.join());
    return join(cacheDir, entry!);
  }
  const coreModule = (entry: string) => join(entry, readdirSync(entry).find((f) => f.endsWith('.wasm'))!);

  const damages: Array<[string, (entry: string) => void]> = [
    [
      'JavaScript appended to the glue',
      (entry) => appendFileSync(join(entry, 'glue.mjs'), `\nglobalThis.process.getBuiltinModule('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`),
    ],
    ['a truncated glue', (entry) => truncateSync(join(entry, 'glue.mjs'), Math.floor(readFileSync(join(entry, 'glue.mjs')).length / 2))],
    [
      'a flipped byte in a core module',
      (entry) => {
        const file = coreModule(entry);
        const bytes = readFileSync(file);
        bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
        writeFileSync(file, bytes);
      },
    ],
    ['a missing core module', (entry) => rmSync(coreModule(entry))],
    ['a missing manifest', (entry) => rmSync(join(entry, 'manifest.json'))],
    ['a manifest that is not JSON', (entry) => writeFileSync(join(entry, 'manifest.json'), '{')],
    [
      'a manifest naming a file outside the entry',
      (entry) => {
        const manifest = JSON.parse(readFileSync(join(entry, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
        manifest.files['../outside.wasm'] = manifest.files['glue.mjs']!;
        writeFileSync(join(entry, 'manifest.json'), JSON.stringify(manifest));
      },
    ],
    ['the entry replaced by a file', (entry) => (rmSync(entry, { recursive: true }), writeFileSync(entry, 'not a directory'))],
    [
      'the entry a symlink to a tampered copy elsewhere',
      (entry) => {
        const elsewhere = join(dir, 'elsewhere');
        renameSync(entry, elsewhere);
        symlinkSync(elsewhere, entry);
        damages[0]![1](elsewhere);
      },
    ],
  ];

  for (const [label, damage] of damages) {
    it(`${label}: the entry is deleted and rebuilt with a warning, and the extension works`, async () => {
      const cacheDir = join(dir, 'cache');
      const entry = await primedEntry(cacheDir);
      const good = readFileSync(join(entry, 'manifest.json'), 'utf8');
      damage(entry);

      // A restarted server: a fresh compiler (loadExtension's first for this cacheDir).
      const logger = recordingLogger();
      const ext = await loadExtension(fixturePath('counter'), { dataDir: join(dir, 'data'), cacheDir, logger, isolation: 'inline' });
      try {
        await ext.resolveField({ typeName: 'Mutation', fieldName: 'bump' }, { write: true });
        assert.deepEqual(await ext.resolveField({ typeName: 'Query', fieldName: 'counter' }), [{ n: 1 }]);
      } finally {
        await ext.close();
      }
      const warnings = logger.lines.filter((l) => l.level === 'warn');
      assert.equal(warnings.length, 1, JSON.stringify(logger.lines));
      assert.match(warnings[0]!.msg, /transpile cache entry .* is damaged \(.*\): deleted, transpiling again/);
      assert.equal(readFileSync(join(entry, 'manifest.json'), 'utf8'), good, 'the same entry, rebuilt');
      assert.ok(lstatSync(entry).isDirectory(), 'rebuilt as a directory of its own');
      assert.equal(existsSync(marker), false, 'the damaged glue never ran');
    });
  }

  it('glue changed on disk after it was verified never runs: the host imports the bytes it checked', async () => {
    const cacheDir = join(dir, 'cache');
    const entry = await primedEntry(cacheDir);
    const compiled = await new ComponentCompiler(cacheDir).compile(readFileSync(fixturePath('counter')), CAP);
    damages[0]![1](entry);
    const glue = (await import(compiled.glueUrl)) as { instantiate?: unknown };
    assert.equal(typeof glue.instantiate, 'function');
    assert.equal(existsSync(marker), false, 'the appended code never ran');
  });

  it('a cache that cannot be written (a file where cacheDir should be) costs a warning, never the extension', async () => {
    const cacheDir = join(dir, 'cache');
    mkdirSync(dir, { recursive: true });
    writeFileSync(cacheDir, 'not a directory');
    const logger = recordingLogger();
    const ext = await loadExtension(fixturePath('counter'), { dataDir: join(dir, 'data'), cacheDir, logger, isolation: 'inline' });
    try {
      await ext.resolveField({ typeName: 'Mutation', fieldName: 'bump' }, { write: true });
      assert.deepEqual(await ext.resolveField({ typeName: 'Query', fieldName: 'counter' }), [{ n: 1 }]);
    } finally {
      await ext.close();
    }
    const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    assert.ok(warnings.some((m) => /could not be written \(ENOTDIR.*\): using the transpiled component from memory/.test(m)), warnings.join('\n'));
    assert.equal(readFileSync(cacheDir, 'utf8'), 'not a directory', 'the file is left alone');
  });

  it('an intact entry is used without a warning or a transpile', async () => {
    const cacheDir = join(dir, 'cache');
    const entry = await primedEntry(cacheDir);
    const before = readdirSync(entry).map((f) => [f, readFileSync(join(entry, f)).length]);
    const logger = recordingLogger();
    const ext = await loadExtension(fixturePath('counter'), { dataDir: join(dir, 'data'), cacheDir, logger, isolation: 'inline' });
    await ext.close();
    assert.deepEqual(logger.lines.filter((l) => l.level === 'warn'), []);
    assert.deepEqual(readdirSync(entry).map((f) => [f, readFileSync(join(entry, f)).length]), before);
  });
});
