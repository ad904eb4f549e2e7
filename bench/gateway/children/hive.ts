// (c) Hive Gateway (`@graphql-hive/gateway`, programmatic: `createGatewayRuntime` behind
// node:http) reading the supergraph file, with its defaults, except for one switch run.ts sets
// explicitly: outbound in-flight request deduplication (`deduplicateInflightRequests` of its HTTP
// transport, default ON), which merges identical subgraph calls that are in flight at the same
// time, across client requests. Inbound deduplication (`inboundInflightRequestDeduplication`)
// is left at its default (off).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createGatewayRuntime } from "@graphql-hive/gateway";
import { childConfig, reportFailure, reportReady, serveControl } from "./ipc.ts";

export interface HiveConfig {
  supergraphPath: string;
  /** `default` leaves Hive's transport option alone (on); `false` turns it off for every subgraph. */
  outboundDedup: "default" | false;
}

try {
  const config = childConfig<HiveConfig>();
  const gateway = createGatewayRuntime({
    supergraph: config.supergraphPath,
    ...(config.outboundDedup === false ? { transportEntries: { "*": { options: { deduplicateInflightRequests: false } } } } : {}),
  });
  const server = createServer(gateway);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  serveControl(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await gateway.dispose();
  });
  reportReady(`http://127.0.0.1:${port}/graphql`, { outboundDedup: config.outboundDedup });
} catch (error) {
  reportFailure(error);
}
