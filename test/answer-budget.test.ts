/**
 * A request's budget of answer bytes (`budgets.maxAnswerBytes`) is applied where the answers
 * are made: the extension's process refuses the answers past what the request may still
 * receive, so megabytes that would only be refused never cross to the host (reading them
 * blocked its event loop ~100 ms for 31 MB, issue 10 row 5). Each isolation applies it the same way.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { appFixture } from './apps.js';

describe('answer bytes refused where they are made', () => {
  const fixture = appFixture({ 'ints.wasm': 'ints' });
  for (const isolation of ['process', 'worker', 'inline'] as const) {
    it(`${isolation}: answers past the request's budget are refused by the instance; the request's other fields and later requests are served`, async () => {
      // someInts: ~0.39 MB each; a budget of 1 MB lets two through, the third is refused.
      // No application schema: the extension's fields alone.
      const { handler: app } = await fixture.start({ schema: undefined, isolation, budgets: { maxAnswerBytes: 1_000_000, maxAnswerValues: 10_000_000 } });
      const query = `{ ${Array.from({ length: 6 }, (_, i) => `a${i}: someInts`).join(' ')} }`;
      const res = await request(app).post('/graphql').send({ query }).expect(200);
      const errors = res.body.errors as Array<{ message: string; path: string[]; extensions: { code: string } }>;
      assert.ok(errors.length >= 1, JSON.stringify(errors));
      assert.equal(res.body.data, null, 'someInts is non-null: a refused field nulls the whole answer');
      assert.deepEqual([...new Set(errors.map((e) => e.extensions.code))], ['EXTENSION_REQUEST_BUDGET']);
      // The instance's own wording: the refusal happened before the answer was sent.
      assert.match(errors[0]!.message, /the answers of extension "ints" to this request reached 1167003 bytes, above the budget of 1000000 \(budgets\.maxAnswerBytes\); refused before it left the extension/);
      assert.deepEqual(errors[0]!.path, ['a2']);
      const later = await request(app).post('/graphql').send({ query: '{ a: someInts b: one }' }).expect(200);
      assert.equal(later.body.errors, undefined);
      assert.equal(later.body.data.a.length, 100_000);
    });
  }
});
