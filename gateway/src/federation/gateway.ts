import { ApolloGateway, type SupergraphManager } from "@apollo/gateway";
import { QueryDeduplicator } from "./deduplication.ts";
import { SignedDataSource } from "./signed-data-source.ts";
import { SubgraphClient, type BreakerState, type SubgraphHooks, type SubgraphResilienceOptions } from "./subgraph-client.ts";

export type { BreakerState, FetchOutcome, SubgraphFetchEvent, SubgraphHooks, SubgraphResilienceOptions } from "./subgraph-client.ts";
export { SUBGRAPH_ERROR_CODES } from "./signed-data-source.ts";

export interface ResilienceOptions extends SubgraphResilienceOptions {
  /** Overrides for single subgraphs, by name; unset fields fall back to the ones above. */
  readonly subgraphs?: Readonly<Record<string, SubgraphResilienceOptions>>;
}

/** What a caller may tune without touching the supergraph or the secret (GatewayOptions.federation). */
export interface FederationTuning extends SubgraphHooks {
  readonly resilience?: ResilienceOptions;
  /**
   * Send identical subgraph query fetches that are in flight together (same subgraph, body and
   * caller) once, and share the answer; see QueryDeduplicator. Off by default: merged fetches
   * carry one request's correlation id, and read-your-writes holds only for mutations sent
   * through the same gateway instance. @default false
   */
  readonly deduplicateQueries?: boolean;
  /** With `deduplicateQueries`: once per fetch that was answered by another one in flight. */
  readonly onSharedFetch?: (subgraph: string) => void;
}

export interface FederationOptions extends FederationTuning {
  /** The composed supergraph, or a manager that serves (and may hot-reload) it. */
  readonly supergraphSdl: string | SupergraphManager;
  readonly signingSecret: string;
  /** Routing URLs that replace supergraph.graphql's, by subgraph name (tests, the embedded start). */
  readonly subgraphUrls?: Readonly<Record<string, string>>;
}

/** A subgraph of the loaded supergraph, for /readyz and metrics. */
export interface SubgraphHandle {
  readonly name: string;
  /** Internal address: fine for logs and health probes, not for clients. */
  readonly url: string;
  breakerState(): BreakerState;
}

export interface Federation {
  readonly gateway: ApolloGateway;
  /** The subgraphs of the current supergraph; empty until the gateway has loaded. */
  readonly subgraphs: readonly SubgraphHandle[];
  /** True once a supergraph is loaded, until the gateway stops. */
  loaded(): boolean;
  /** Closes the connection pools once their requests finish; stopping the gateway does it too. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * @apollo/gateway over a pre-composed supergraph; every subgraph call is signed, pooled, bounded
 * by a deadline, retried when it is a query and guarded by a per-subgraph circuit breaker.
 */
export function createFederation(options: FederationOptions): Federation {
  const clients = new Map<string, SubgraphClient>();
  const retired: Promise<void>[] = [];
  let loaded = false;
  let disposed: Promise<void> | undefined;
  const dispose = () => {
    loaded = false;
    disposed ??= Promise.all([...retired, ...[...clients.values()].map((client) => client.close())]).then(() => undefined);
    return disposed;
  };

  const clientFor = (name: string, url: string): SubgraphClient => {
    const existing = clients.get(name);
    if (existing?.url === url) return existing;
    const resilience = options.resilience;
    const client = new SubgraphClient({
      name,
      url,
      resilience: { ...resilience, ...resilience?.subgraphs?.[name] },
      onFetch: options.onFetch,
      onBreakerStateChange: options.onBreakerStateChange,
    });
    clients.set(name, client);
    // A new routing URL is a new deployment: fresh pool and breaker; the old pool drains first.
    if (existing) retired.push(existing.close());
    return client;
  };

  const deduplicator = options.deduplicateQueries ? new QueryDeduplicator(options.onSharedFetch) : null;
  const { supergraphSdl } = options;
  // Static SDL goes through a manager too, only so that gateway.stop() (ApolloServer.stop()) closes the pools.
  const manager: SupergraphManager = {
    async initialize(hook) {
      const served = typeof supergraphSdl === "string" ? { supergraphSdl } : await supergraphSdl.initialize(hook);
      return {
        supergraphSdl: served.supergraphSdl,
        async cleanup() {
          try {
            if ("cleanup" in served) await served.cleanup?.();
          } finally {
            await dispose();
          }
        },
      };
    },
  };

  const gateway = new ApolloGateway({
    supergraphSdl: manager,
    buildService: ({ name, url }) => {
      const target = options.subgraphUrls?.[name] ?? url;
      if (!target) throw new Error(`subgraph ${name} has no URL`);
      return new SignedDataSource(clientFor(name, target), options.signingSecret, deduplicator);
    },
  });

  gateway.onSchemaLoadOrUpdate(() => {
    loaded = disposed === undefined;
  });

  return {
    gateway,
    get subgraphs() {
      return [...clients.values()];
    },
    loaded: () => loaded,
    dispose,
  };
}
