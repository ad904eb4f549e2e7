// One in-memory benchmark subgraph in its own process: `buildSubgraphSchema` + graphql-js
// `execute` behind a minimal node:http server (no Apollo Server), the same for every gateway.
// Parsed and validated documents are cached by query text (a gateway sends a fixed set).
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { DocumentNode, GraphQLError, GraphQLSchema } from "graphql";
import { graphql, rootRequire } from "../root.ts";
import { RESOLVERS, TYPE_DEFS, type SubgraphName } from "../schema.ts";
import { childConfig, reportFailure, reportReady, serveControl } from "./ipc.ts";

const { buildSubgraphSchema } = rootRequire("@apollo/subgraph") as typeof import("@apollo/subgraph");

/** BENCH_TRACE_SUBGRAPHS=n: log the first n requests to the child's log file (debugging query plans). */
const TRACE = Number(process.env.BENCH_TRACE_SUBGRAPHS ?? 0);

interface Config {
  name: SubgraphName;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

try {
  const { name } = childConfig<Config>();
  const schema: GraphQLSchema = buildSubgraphSchema({
    typeDefs: graphql.parse(TYPE_DEFS[name]),
    resolvers: RESOLVERS[name] as never,
  });
  const documents = new Map<string, DocumentNode | readonly GraphQLError[]>();
  let served = 0;

  const server = createServer((request, response) => {
    void (async () => {
      const text = await readBody(request);
      served += 1;
      if (served <= TRACE) console.log(`#${served} ${text.length} B: ${text.slice(0, 300).replace(/\s+/g, " ")}`);
      const { query, variables, operationName } = JSON.parse(text) as {
        query: string;
        variables?: Record<string, unknown>;
        operationName?: string;
      };
      let document = documents.get(query);
      if (!document) {
        const parsed = graphql.parse(query);
        const errors = graphql.validate(schema, parsed);
        document = errors.length > 0 ? errors : parsed;
        if (documents.size > 1_000) documents.clear();
        documents.set(query, document);
      }
      const result = Array.isArray(document) ? { errors: document } : await graphql.execute({ schema, document: document as DocumentNode, variableValues: variables, operationName });
      const body = JSON.stringify(result);
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      response.end(body);
    })().catch((error: unknown) => {
      const body = JSON.stringify({ errors: [{ message: String(error) }] });
      if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
      response.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  serveControl(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    () => served,
  );
  reportReady(`http://127.0.0.1:${port}/graphql`, { name });
} catch (error) {
  reportFailure(error);
}
