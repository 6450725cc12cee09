/**
 * The transpile step: jco's glue is patched (its per-call debug logging removed), and a jco
 * upgrade that changes the patched code fails loudly instead of silently losing the speed-up.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkImports } from '../lib/runtime/component-check.js';
import { DEBUG_LOG_DEFINITION, patchGlue, transpileComponent } from '../lib/runtime/transpile.js';
import { fixturePath } from './helpers.js';

describe('transpile', () => {
  it('removes the per-call debug logging from the glue jco generates', async () => {
    const { glue, coreModules } = await transpileComponent(readFileSync(fixturePath('counter')));
    assert.ok(glue.includes('const _debugLog = () => {};'));
    assert.ok(!glue.includes('process.env'), 'the patched glue reads no environment');
    assert.ok(glue.includes('export function instantiate('));
    assert.ok(Object.keys(coreModules).length >= 1);
  });

  it('fails loudly when jco changes the code the patch expects', () => {
    const changed = DEBUG_LOG_DEFINITION.replace('JCO_DEBUG', 'JCO_TRACE');
    assert.throws(() => patchGlue(`function x() {\n  ${changed}\n}`), /jco was upgraded: update DEBUG_LOG_DEFINITION/);
    assert.throws(() => patchGlue(`${DEBUG_LOG_DEFINITION}\n${DEBUG_LOG_DEFINITION}`), /exactly one/);
  });

  it('checks the exports against the contract', async () => {
    // A core module is refused earlier; here the component is real but its world is the contract's.
    await assert.doesNotReject(transpileComponent(readFileSync(fixturePath('trap'))));
  });
});

describe('import policy', () => {
  it('accepts the contract and the sandboxed WASI interfaces', () => {
    assert.equal(
      checkImports(['forge:extension/database@0.1.0', 'forge:extension/log@0.1.0', 'wasi:io/streams@0.2.12', 'wasi:filesystem/preopens@0.2.0', 'wasi:sockets/tcp@0.2.3']),
      '0.1.0',
    );
  });

  it('refuses network access and names the import', () => {
    assert.throws(() => checkImports(['wasi:http/outgoing-handler@0.2.0']), /unknown import "wasi:http\/outgoing-handler@0.2.0".*network access is not available/);
  });

  it('refuses another contract version, an unknown contract interface, a bare function, a WASI 0.3 interface', () => {
    assert.throws(() => checkImports(['forge:extension/database@0.2.0']), /contract version 0.2.0; this host serves forge:extension@0.1.0/);
    assert.throws(() => checkImports(['forge:extension/secrets@0.1.0']), /forge:extension has no interface "secrets"/);
    assert.throws(() => checkImports(['read-file']), /unknown import "read-file"/);
    assert.throws(() => checkImports(['wasi:io/streams@0.3.0']), /unknown import "wasi:io\/streams@0.3.0"/);
  });
});
