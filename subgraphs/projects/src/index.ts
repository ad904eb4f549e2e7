import { readFileSync } from "node:fs";
import { parse } from "graphql";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { createPeerClient } from "../../shared/peer.ts";
import { startSubgraph, type RunningSubgraph, type SubgraphRuntime } from "../../shared/server.ts";
import { createProjectsContext, type ProjectsContext } from "./context.ts";
import { resolvers } from "./resolvers.ts";

export const typeDefs = parse(readFileSync(new URL("../schema.graphql", import.meta.url), "utf8"));

export function startProjectsSubgraph(runtime: SubgraphRuntime): Promise<RunningSubgraph> {
  const users = runtime.peers?.users ? createPeerClient(runtime.peers.users, runtime.signingSecret) : null;
  return startSubgraph<ProjectsContext>({
    ...runtime,
    name: "projects",
    typeDefs,
    resolvers: resolvers as GraphQLResolverMap<ProjectsContext>,
    createContext: (base) => createProjectsContext(base, users),
  });
}
