/**
 * GraphiQL, served from node_modules (no CDN): a page at the endpoint for browsers
 * (`GET` with `Accept: text/html`) and its four assets under `<endpoint>/__graphiql/`.
 *
 * The assets come from the optional dependencies `graphiql`, `react` and `react-dom`. Without
 * them (`npm install --omit=optional`) the page says how to get them, and the API is unaffected.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const ASSET_PREFIX = '/__graphiql/';

/** File name under {@link ASSET_PREFIX} -> [package, file in it, content type]. */
const ASSETS: Record<string, [string, string, string]> = {
  'react.js': ['react', 'umd/react.production.min.js', 'text/javascript; charset=utf-8'],
  'react-dom.js': ['react-dom', 'umd/react-dom.production.min.js', 'text/javascript; charset=utf-8'],
  'graphiql.js': ['graphiql', 'graphiql.min.js', 'text/javascript; charset=utf-8'],
  'graphiql.css': ['graphiql', 'graphiql.min.css', 'text/css; charset=utf-8'],
};

const require = createRequire(import.meta.url);
const loaded = new Map<string, Promise<Buffer | undefined>>();

/** The asset `name` (e.g. `graphiql.js`) with its content type, or undefined if unknown or not installed. */
export async function graphiqlAsset(name: string): Promise<{ body: Buffer; contentType: string } | undefined> {
  const asset = ASSETS[name];
  if (!asset) return undefined;
  let body = loaded.get(name);
  if (!body) {
    const path = packageFile(asset[0], asset[1]);
    body = path ? readFile(path) : Promise.resolve(undefined);
    loaded.set(name, body);
  }
  const content = await body;
  return content ? { body: content, contentType: asset[2] } : undefined;
}

/** A file of an installed package. (Their `exports` maps hide the UMD builds from `require.resolve`.) */
function packageFile(pkg: string, file: string): string | undefined {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), file);
  } catch {
    return undefined;
  }
}

/**
 * An empty inline icon: without it a browser asks the site root for `/favicon.ico`, which is the
 * application's (a 404 in most), not the endpoint's.
 */
const NO_FAVICON = '<link rel="icon" href="data:,">';

/**
 * What a browser gets when GraphiQL is off (`graphiql: false`, or by default under
 * `NODE_ENV=production`): a short page saying so and how to query, instead of an empty 406.
 */
export function graphiqlOffPage(endpoint: string): string {
  const path = escapeHtml(endpoint);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphQL endpoint · forge-extensions</title>
${NO_FAVICON}
</head>
<body>
<h1>GraphQL endpoint</h1>
<p>GraphiQL is off here (the option <code>graphiql</code> is false, or <code>NODE_ENV=production</code>).
Query this endpoint with <code>POST</code> and <code>content-type: application/json</code>:</p>
<pre>curl -X POST -H 'content-type: application/json' \\
  -d '{"query":"{ __typename }"}' http://&lt;host&gt;${path}</pre>
<p>A query (not a mutation) can also be sent as <code>GET ${path}?query=…</code>.</p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The GraphiQL page for the endpoint at `endpoint` (an absolute path, e.g. `/graphql`). */
export async function graphiqlPage(endpoint: string): Promise<string> {
  const base = endpoint.replace(/\/$/, '') + ASSET_PREFIX;
  const installed = (await graphiqlAsset('graphiql.js')) !== undefined;
  const body = installed
    ? `<div id="graphiql">Loading GraphiQL…</div>
<script src="${base}react.js"></script>
<script src="${base}react-dom.js"></script>
<script src="${base}graphiql.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: ${JSON.stringify(endpoint)} });
  ReactDOM.createRoot(document.getElementById('graphiql'))
    .render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }));
</script>`
    : `<p>GraphiQL is not installed. Run <code>npm install graphiql@3 react@18 react-dom@18</code>,
or query this endpoint with POST application/json.</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphiQL · forge-extensions</title>
<style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
<link rel="stylesheet" href="${base}graphiql.css">
${NO_FAVICON}
</head>
<body>
${body}
</body>
</html>
`;
}
