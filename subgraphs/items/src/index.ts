import { readFileSync } from "node:fs";
import { parse } from "graphql";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { createPeerClient } from "../../shared/peer.ts";
import { startSubgraph, type RunningSubgraph, type SubgraphRuntime } from "../../shared/server.ts";
import { createItemsContext, type ItemsContext } from "./context.ts";
import { resolvers } from "./resolvers.ts";

export const typeDefs = parse(readFileSync(new URL("../schema.graphql", import.meta.url), "utf8"));

export function startItemsSubgraph(runtime: SubgraphRuntime): Promise<RunningSubgraph> {
  const peer = (url: string | undefined) => (url ? createPeerClient(url, runtime.signingSecret) : null);
  const peers = { projects: peer(runtime.peers?.projects), users: peer(runtime.peers?.users) };
  return startSubgraph<ItemsContext>({
    ...runtime,
    name: "items",
    typeDefs,
    resolvers: resolvers as GraphQLResolverMap<ItemsContext>,
    createContext: (base) => createItemsContext(base, peers),
  });
}
