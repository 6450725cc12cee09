/**
 * Hot reload while the serving version holds its database's write lock longer than the busy
 * timeout (5 s): the new version's `migrate` cannot begin its transaction and is refused with
 * `EXTENSION_STORAGE` (busy). The host tries that version again by itself, so it serves as soon
 * as the lock is free, without the file having to change again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createExtensionHost, type ExtensionEvent } from '../lib/index.js';
import { sha256Hex } from '../lib/runtime/compile.js';
import { extensionsDir, recordingLogger, TEST_CACHE_DIR, tempDir, withCustomSection } from './helpers.js';

describe('hot reload while the old version holds the write lock', () => {
  it('loads the new version once the lock is free, by itself', async () => {
    const ext = extensionsDir({ 'loop.wasm': 'loop' });
    const data = tempDir();
    const logger = recordingLogger();
    // process isolation: at the deadline (20 s: past the new version's first try even on a slow machine) the
    // spinning call's process is killed, which frees the lock.
    const host = createExtensionHost(ext.dir, { dataDir: data.dir, cacheDir: TEST_CACHE_DIR, logger, watch: true, isolation: 'process', limits: { timeoutMs: 20_000 } });
    try {
      await host.ready();
      const old = host.extension('loop')!;
      // A write that never ends: `spin` run as a Mutation holds BEGIN IMMEDIATE's lock until its deadline.
      const spinning = old.resolveField({ typeName: 'Query', fieldName: 'spin' }, { write: true }).catch((e: Error) => e);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const failures: ExtensionEvent[] = [];
      host.on('failed', (e: ExtensionEvent) => failures.push(e));
      const next = withCustomSection(readFileSync(join(ext.dir, 'loop.wasm')), 'v2');
      writeFileSync(join(ext.dir, 'loop.wasm.tmp'), next);
      renameSync(join(ext.dir, 'loop.wasm.tmp'), join(ext.dir, 'loop.wasm'));
      const [reloaded] = (await once(host, 'reloaded')) as [ExtensionEvent];
      assert.equal(reloaded.version, await sha256Hex(next));
      assert.equal(((await spinning) as { code?: string }).code, 'EXTENSION_TIMEOUT');
      assert.ok(failures.length >= 1, 'the first try was refused');
      assert.match(String(failures[0]!.error?.message), /failed at migrate: storage: .*locked by another connection/);
      assert.ok(logger.lines.some((l) => /its database is locked; trying again in 1 s/.test(l.msg)), JSON.stringify(logger.lines.map((l) => l.msg)));
      assert.equal(host.status().find((s) => s.name === 'loop')!.state, 'ready');
      assert.equal(await host.extension('loop')!.resolveField({ typeName: 'Query', fieldName: 'loopOk' }), 'fine');
    } finally {
      await host.close();
      ext.cleanup();
      data.cleanup();
    }
  });
});
