import { readFileSync } from "node:fs";
import { parse } from "graphql";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { startSubgraph, type RunningSubgraph, type SubgraphRuntime } from "../../shared/server.ts";
import { createUsersContext, type UsersContext } from "./context.ts";
import { resolvers } from "./resolvers.ts";

export const typeDefs = parse(readFileSync(new URL("../schema.graphql", import.meta.url), "utf8"));

export function startUsersSubgraph(runtime: SubgraphRuntime): Promise<RunningSubgraph> {
  return startSubgraph<UsersContext>({
    ...runtime,
    name: "users",
    typeDefs,
    resolvers: resolvers as GraphQLResolverMap<UsersContext>,
    createContext: createUsersContext,
  });
}
