import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ServerResponse } from "node:http";

const require = createRequire(import.meta.url);
const packageFile = (name: string, file: string) => join(dirname(require.resolve(`${name}/package.json`)), file);

/** GraphiQL from the installed packages: the page works with no network beyond this server. */
const ASSETS: Record<string, { file: string; type: string }> = {
  "react.js": { file: packageFile("react", "umd/react.production.min.js"), type: "text/javascript" },
  "react-dom.js": { file: packageFile("react-dom", "umd/react-dom.production.min.js"), type: "text/javascript" },
  "graphiql.js": { file: packageFile("graphiql", "graphiql.min.js"), type: "text/javascript" },
  "graphiql.css": { file: packageFile("graphiql", "graphiql.min.css"), type: "text/css" },
};

export const GRAPHIQL_ASSET_PREFIX = "/graphiql/assets/";

const EXAMPLE_QUERY = `# Sunday's federated API: this query crosses all four subgraphs.
# Run BoardActivity with a board id from MyBoards, then change an item in another tab: events
# arrive live, each with the board and item resolved across subgraphs.
query MyBoards {
  me { name role organization { name } }
  boards(first: 5) {
    nodes {
      name
      integrations { type enabled }
      items(first: 5) {
        nodes { name assignees { name } columnValues { column { title type } value } }
      }
      id
    }
  }
}

subscription BoardActivity($boardId: ID!) {
  boardActivity(boardId: $boardId) {
    cursor
    type
    actor { name }
    item { name assignees { name } board { name } }
    data
  }
}
`;

export function graphiqlHtml(endpoint: string, defaultHeaders: Record<string, string>): string {
  const config = JSON.stringify({ endpoint, headers: JSON.stringify(defaultHeaders, null, 2), query: EXAMPLE_QUERY }).replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Sunday GraphQL</title>
  <link rel="stylesheet" href="${GRAPHIQL_ASSET_PREFIX}graphiql.css" />
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading…</div>
  <script src="${GRAPHIQL_ASSET_PREFIX}react.js"></script>
  <script src="${GRAPHIQL_ASSET_PREFIX}react-dom.js"></script>
  <script src="${GRAPHIQL_ASSET_PREFIX}graphiql.js"></script>
  <script>
    const config = ${config};
    // Subscriptions go over graphql-ws on the same path; connection_init carries the default headers' token.
    const subscriptionUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + config.endpoint;
    const fetcher = GraphiQL.createFetcher({ url: config.endpoint, subscriptionUrl, wsConnectionParams: JSON.parse(config.headers) });
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      // Headers are not persisted: a stale token from an earlier run would shadow the fresh one.
      React.createElement(GraphiQL, { fetcher, defaultHeaders: config.headers, defaultQuery: config.query, shouldPersistHeaders: false }),
    );
  </script>
</body>
</html>`;
}

export async function sendGraphiqlAsset(name: string, response: ServerResponse): Promise<boolean> {
  const asset = ASSETS[name];
  if (!asset) return false;
  const body = await readFile(asset.file);
  response.writeHead(200, { "content-type": asset.type, "cache-control": "public, max-age=86400" });
  response.end(body);
  return true;
}
