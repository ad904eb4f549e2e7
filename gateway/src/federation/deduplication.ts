import type { Identity } from "../../../platform/identity.ts";

/**
 * Merges identical subgraph query fetches that are in flight at the same time (what Apollo
 * Router's `deduplicate_query` and Hive Gateway's `deduplicateInflightRequests` do): the first
 * one is sent, the others wait for its answer and get their own copy of it.
 *
 * Identical means: same subgraph, same request body (query, variables, operation name) and same
 * caller (user, organisation, role), since subgraphs answer per caller. Only fetches of client
 * *queries* take part; every fetch of a mutation's plan is sent on its own.
 *
 * Read-your-writes: each fetch of a mutation's plan moves an epoch forward when it starts and when
 * it ends, and the epoch is part of the key. So a query fetch that starts after a mutation (sent
 * through this gateway instance) has completed never joins a fetch that was started before it.
 *
 * What a merged fetch gives up: the subgraph sees the first request's correlation id only, and
 * `onFetch` (metrics, logs) reports the one fetch that was made; `onShared` counts the others.
 */
export class QueryDeduplicator {
  private epoch = 0;
  private readonly inflight = new Map<string, Promise<unknown>>();

  private readonly onShared?: (subgraph: string) => void;

  constructor(onShared?: (subgraph: string) => void) {
    this.onShared = onShared;
  }

  /**
   * `send` makes the fetch (with its retries); its result must be copied with `copy` for every
   * waiter but the first, because the executor merges into the objects it is given.
   */
  async run<T>(subgraph: string, identity: Identity | null, body: string, send: () => Promise<T>, copy: (shared: T) => T): Promise<T> {
    const key = `${subgraph}\n${this.epoch}\n${identity ? `${identity.userId}\n${identity.organizationId}\n${identity.role}` : "-"}\n${body}`;
    const pending = this.inflight.get(key) as Promise<T> | undefined;
    if (pending) {
      this.onShared?.(subgraph);
      return copy(await pending);
    }
    const sent = send();
    this.inflight.set(key, sent);
    try {
      return await sent;
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Runs a fetch of a mutation's plan: never merged, and it closes the current epoch. */
  async mutation<T>(send: () => Promise<T>): Promise<T> {
    this.epoch += 1;
    try {
      return await send();
    } finally {
      this.epoch += 1;
    }
  }

  /** Fetches in flight that others may join (tests). */
  get size(): number {
    return this.inflight.size;
  }
}
