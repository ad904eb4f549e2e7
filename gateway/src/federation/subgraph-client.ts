import { SubgraphPolicy, type BreakerState, type SubgraphHooks, type SubgraphPolicyOptions } from "./subgraph-policy.ts";
import { SubgraphTransport, type SubgraphAnswer, type SubgraphTransportOptions } from "./subgraph-transport.ts";

export type { BreakerState, FetchOutcome, SubgraphFetchEvent, SubgraphHooks } from "./subgraph-policy.ts";
export type { SubgraphAnswer } from "./subgraph-transport.ts";

/** How the gateway talks to one subgraph: its pool and deadline, its retries and breaker. */
export interface SubgraphResilienceOptions extends SubgraphTransportOptions, SubgraphPolicyOptions {}

export interface SubgraphClientOptions extends SubgraphHooks {
  readonly name: string;
  readonly url: string;
  readonly resilience?: SubgraphResilienceOptions;
}

/**
 * Everything the gateway keeps per subgraph across requests: the connection pool (undici, see
 * SubgraphTransport), the circuit breaker and the retry policy (cockatiel, see SubgraphPolicy).
 * Data sources built for new supergraph versions share it.
 */
export class SubgraphClient {
  readonly name: string;
  readonly url: string;
  /** Path of the subgraph's GraphQL endpoint, without the query string: what the signature covers. */
  readonly path: string;
  /** Path and query string: what is requested. */
  private readonly requestPath: string;
  private readonly transport: SubgraphTransport;
  private readonly policy: SubgraphPolicy;

  constructor(options: SubgraphClientOptions) {
    const settings = options.resilience ?? {};
    this.name = options.name;
    this.url = options.url;
    const target = new URL(options.url);
    this.path = target.pathname;
    this.requestPath = target.pathname + target.search;
    this.transport = new SubgraphTransport(target.origin, settings);
    this.policy = new SubgraphPolicy(options.name, settings, options);
  }

  breakerState(): BreakerState {
    return this.policy.breakerState();
  }

  /**
   * Runs one subgraph fetch under the breaker, with retries when `idempotent`, and reports it.
   * `attempt` must do the whole fetch again each time it is called.
   */
  execute<T extends { readonly status?: number }>(idempotent: boolean, attempt: () => Promise<T>): Promise<T> {
    return this.policy.execute(idempotent, attempt);
  }

  /**
   * One attempt: POSTs `body` with `headers` to the subgraph and reads the whole answer within
   * the deadline. Not retried and not guarded by the breaker: run it inside `execute`.
   */
  post(headers: Record<string, string>, body: string | Buffer): Promise<SubgraphAnswer> {
    return this.transport.post(this.requestPath, headers, body);
  }

  /** Closes the pool once the requests in flight have finished. Idempotent. */
  close(): Promise<void> {
    return this.transport.close();
  }
}
