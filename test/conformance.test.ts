/**
 * Conformance and real clients: graphql-http's own GraphQL-over-HTTP audit suite against both
 * endpoints (every MUST and SHOULD audit passes), and a real GraphQL client against a
 * listening server.
 */
import assert from 'node:assert/strict';
import { GraphQLClient, ClientError, gql } from 'graphql-request';
import { serverAudits } from 'graphql-http';
import { createApp, defaultOptions, FRAMEWORKS, type TestApp } from './apps.js';
import { extensionsDir, tempDir } from './helpers.js';

for (const framework of FRAMEWORKS) {
  describe(`GraphQL over HTTP conformance (${framework})`, () => {
    let ext: { dir: string; cleanup: () => void };
    let data: { dir: string; cleanup: () => void };
    let app: TestApp;
    let url: string;
    before(async () => {
      ext = extensionsDir({ 'counter.wasm': 'counter', 'issues.wasm': 'issues' });
      data = tempDir();
      app = createApp(framework, ext.dir, defaultOptions(data.dir));
      await app.host.ready();
      url = await app.listen();
    });
    after(async () => {
      await app.close();
      ext.cleanup();
      data.cleanup();
    });

    it('passes every MUST and SHOULD audit of graphql-http', async () => {
      const audits = serverAudits({ url: () => url, fetchFn: fetch });
      const failures: string[] = [];
      let counted = 0;
      for (const audit of audits) {
        if (!/^(MUST|SHOULD)/.test(audit.name)) continue;
        counted++;
        const result = await audit.fn();
        if (result.status !== 'ok') failures.push(`${audit.name}: ${result.reason}`);
      }
      assert.ok(counted > 30, `ran ${counted} audits`);
      assert.deepEqual(failures, []);
    });

    it('works with a real client (graphql-request)', async () => {
      const client = new GraphQLClient(url, { headers: { 'x-user': 'client' } });
      const created = await client.request<{ createIssue: { id: string; title: string } }>(
        gql`mutation Create($title: String!) { createIssue(title: $title, repository: "anvil") { id title } }`,
        { title: 'from a client' },
      );
      assert.equal(created.createIssue.title, 'from a client');
      const read = await client.request<{ repository: { name: string; issues: Array<{ title: string }> }; whoami: string; counter: Array<{ n: number }> }>(
        gql`{ whoami repository(name: "anvil") { name issues { title } } counter { n } }`,
      );
      assert.deepEqual(read, { whoami: 'client', repository: { name: 'anvil', issues: [{ title: 'from a client' }] }, counter: [{ n: 0 }] });
      await assert.rejects(
        client.request(gql`mutation { createIssue(title: "   ") { id } }`),
        (e: unknown) => e instanceof ClientError && e.response.errors?.[0]?.extensions?.['code'] === 'EXTENSION_ERROR',
      );
    });
  });
}
