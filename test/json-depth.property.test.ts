/**
 * The two measures of JSON nesting the host's depth limit (MAX_JSON_DEPTH) uses agree: the text
 * scan (a SQL resolver's json column, before it is parsed) and the walk of a value (a scalar in
 * an extension's answer), for any JSON value, and both stop early as documented.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonTextDepth, MAX_JSON_DEPTH, valueDepth } from '../lib/data/json-depth.js';

describe('JSON nesting depth', () => {
  it('is the same measured on the text and on the parsed value, strings with brackets and escapes included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        const text = JSON.stringify(value);
        assert.equal(jsonTextDepth(text), valueDepth(value), text);
        assert.equal(valueDepth(JSON.parse(text)), valueDepth(value));
      }),
      { numRuns: 500 },
    );
  });

  it('counts arrays and objects, not scalars, and stops past stopAfter (a value that refers to itself ends)', () => {
    assert.equal(jsonTextDepth('1'), 0);
    assert.equal(jsonTextDepth('"[[{"'), 0);
    assert.equal(jsonTextDepth('{"a":[[],"]\\"["]}'), 3);
    assert.equal(valueDepth([[], { a: [1] }]), 3);
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    assert.equal(jsonTextDepth(deep, MAX_JSON_DEPTH), MAX_JSON_DEPTH + 1);
    assert.equal(valueDepth(JSON.parse(deep), MAX_JSON_DEPTH), MAX_JSON_DEPTH + 1);
    assert.equal(valueDepth(JSON.parse(deep)), 200_000, 'no recursion: any depth is measured');
    const self: Record<string, unknown> = {};
    self['self'] = self;
    assert.equal(valueDepth(self, 10), 11);
  });
});
