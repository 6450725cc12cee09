/**
 * Run by process-isolation.test.ts: a host whose extension process is inside a runaway SQL
 * statement. It prints that process's pid; the test then SIGKILLs this host and checks the
 * extension process does not outlive it.
 *
 *   node dist/test/children/host-dies.js <probe.wasm> <dataDir> <cacheDir>
 */
import { loadExtension } from '../../lib/runtime/load.js';
import { silentLogger } from '../../lib/runtime/logger.js';
import { extensionProcesses } from '../procfs.js';
import { ROW_2_SQL } from './sql.js';

const [file, dataDir, cacheDir] = process.argv.slice(2) as [string, string, string];
const ext = await loadExtension(file, { name: 'probe', dataDir, cacheDir, isolation: 'process', logger: silentLogger, limits: { timeoutMs: 600_000 } });
void ext.resolveField({ typeName: 'Query', fieldName: 'sql', arguments: { sql: ROW_2_SQL } }).catch(() => {});
await new Promise((resolve) => setTimeout(resolve, 300));
console.log(JSON.stringify({ extensionPids: extensionProcesses('probe') }));
setInterval(() => {}, 1000);
