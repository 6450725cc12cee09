/**
 * package.json `engines.node` states the real floor (issue 13, item 7): every installed package
 * supports every Node it claims, the Node running this suite is one of them, and so are the
 * versions CI pins (`.ci/node-versions`), whose lines README.md states.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { ROOT } from '../fixtures/build.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const claimed = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;

describe('engines', () => {
  it('every package in package-lock.json supports every Node version engines claims', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: unknown; version?: string }> };
    const narrower: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const node = entry.engines && typeof entry.engines === 'object' && !Array.isArray(entry.engines) ? (entry.engines as { node?: string }).node : undefined;
      if (!node || !semver.validRange(node)) continue;
      if (!semver.subset(claimed, node)) narrower.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} needs ${node}`);
    }
    assert.deepEqual(narrower, [], `engines.node "${claimed}" claims versions these packages do not support`);
  });

  it('the Node running the suite, and every version CI pins, is one engines claims', () => {
    assert.ok(semver.satisfies(process.version, claimed), `${process.version} is outside engines.node "${claimed}"`);
    const pinned = read('.ci/node-versions').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.ok(pinned.length >= 2, 'CI pins the current LTS lines');
    const readme = read('README.md');
    for (const version of pinned) {
      assert.ok(semver.valid(version), `${version} is an exact version`);
      assert.ok(semver.satisfies(version, claimed), `${version} is outside engines.node "${claimed}"`);
      assert.match(readme, new RegExp(`tested in CI[^\\n]*Node ${semver.major(version)}\\b`, 'i'), `README states that Node ${semver.major(version)} is tested`);
    }
  });
});
