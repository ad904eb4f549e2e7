import { readFileSync } from "node:fs";
import { parse } from "graphql";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { createPeerClient } from "../../shared/peer.ts";
import { startSubgraph, type RunningSubgraph, type SubgraphRuntime } from "../../shared/server.ts";
import { createIntegrationsContext, type IntegrationsContext } from "./context.ts";
import { resolvers } from "./resolvers.ts";
import type { WebhookSettings } from "./webhook-settings.ts";

export const typeDefs = parse(readFileSync(new URL("../schema.graphql", import.meta.url), "utf8"));

export function startIntegrationsSubgraph(runtime: SubgraphRuntime, webhooks: WebhookSettings): Promise<RunningSubgraph> {
  const projects = runtime.peers?.projects ? createPeerClient(runtime.peers.projects, runtime.signingSecret) : null;
  return startSubgraph<IntegrationsContext>({
    ...runtime,
    name: "integrations",
    typeDefs,
    resolvers: resolvers as GraphQLResolverMap<IntegrationsContext>,
    createContext: (base) => createIntegrationsContext(base, projects, webhooks),
  });
}
