import { ApolloGateway } from "@apollo/gateway";
import { SignedDataSource } from "./signed-data-source.ts";

export interface FederationOptions {
  readonly supergraphSdl: string;
  readonly signingSecret: string;
  /** Routing URLs that replace supergraph.graphql's, by subgraph name (tests, the embedded start). */
  readonly subgraphUrls?: Readonly<Record<string, string>>;
}

/** @apollo/gateway over a static, pre-composed supergraph; every subgraph call is signed. */
export function createFederation(options: FederationOptions): ApolloGateway {
  return new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) => {
      const target = options.subgraphUrls?.[name] ?? url;
      if (!target) throw new Error(`subgraph ${name} has no URL`);
      return new SignedDataSource(target, options.signingSecret);
    },
  });
}
