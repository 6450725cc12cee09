/**
 * Process isolation: a guest stopped by its process's OS memory cap (RLIMIT_DATA) before its own
 * `limits.memoryMb` is a memory error, not a crash (issue 10, row 4: a heavy call once came back
 * `EXTENSION_CRASHED` on Node 26, where the runtime reserves ~1.1 GiB of the cap: the guest's
 * `memory.grow` failed at the OS cap with its memory far below `memoryMb`, and it trapped).
 *
 * The cap is lowered on the running extension process with `prlimit` (util-linux), so the guest
 * meets it long before its own limit, on every Node line.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { appFixture } from './apps.js';
import { extensionProcesses, statusKib } from './procfs.js';

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

const hasPrlimit = (): boolean => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('process isolation: the OS memory cap', function () {
  before(function () {
    if (process.platform !== 'linux' || !hasPrlimit()) this.skip();
  });
  const fixture = appFixture({ 'bomb.wasm': 'memory-bomb', 'ints.wasm': 'ints', 'trap.wasm': 'trap' });
  const post = async (query: string): Promise<Body> => (await request(fixture.app.handler).post('/graphql').send({ query }).expect(200)).body as Body;

  it('a guest whose memory.grow fails at the process cap, far below memoryMb, gets EXTENSION_PROCESS_MEMORY_LIMIT', async () => {
    const app = await fixture.start({ extensions: { bomb: { limits: { memoryMb: 1024, timeoutMs: 30_000 } } } });
    assert.deepEqual((await post('{ bombOk }')).data, { bombOk: 'fine' });
    const [pid] = extensionProcesses('bomb');
    assert.ok(pid, 'the bomb extension runs in its own process');
    // Leave the process 64 MiB beyond what it has committed now: the bomb (1 MiB steps, each
    // written) meets the OS cap at ~64 MiB of its 1024.
    const capBytes = (statusKib(pid, 'VmData') + 64 * 1024) * 1024;
    execFileSync('prlimit', [`--pid=${pid}`, `--data=${capBytes}:${capBytes}`]);

    const body = await post('{ bomb }');
    assert.equal(body.errors?.length, 1, JSON.stringify(body));
    assert.equal(body.errors![0]!.extensions?.['code'], 'EXTENSION_PROCESS_MEMORY_LIMIT', body.errors![0]!.message);
    // Either the guest's memory.grow fails and it traps (Node 20, 26), or the process itself dies
    // of the cap first (Node 24: V8 aborts); both are the process's cap, and say so.
    assert.match(body.errors![0]!.message, /process reached its memory cap .*limits\.processMemoryMb.*: the extension crashed: .*unreachable|process ran out of memory .*limits\.processMemoryMb/);
    // The host and the other extensions keep serving.
    assert.deepEqual((await post('{ one }')).data, { one: 1 });
    assert.ok(
      app.host.status().every((s) => s.state === 'ready'),
      JSON.stringify(app.host.status()),
    );
  });

  it('a trap with room left under the cap stays EXTENSION_CRASHED; one at memoryMb stays EXTENSION_MEMORY_LIMIT', async () => {
    await fixture.start({ extensions: { bomb: { limits: { memoryMb: 64 } } } });
    const boom = await post('{ boom }');
    assert.equal(boom.errors?.[0]?.extensions?.['code'], 'EXTENSION_CRASHED', JSON.stringify(boom));
    assert.match(boom.errors![0]!.message, /^the extension crashed: .*unreachable/);
    const full = await post('{ bomb }');
    assert.equal(full.errors?.[0]?.extensions?.['code'], 'EXTENSION_MEMORY_LIMIT', JSON.stringify(full));
  });
});
