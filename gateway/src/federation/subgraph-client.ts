import type { Fetcher, FetcherResponse } from "@apollo/utils.fetcher";
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  isTaskCancelledError,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
  type TimeoutPolicy,
} from "cockatiel";
import { GraphQLError } from "graphql";
import { Headers, Pool, Response } from "undici";

/** How the gateway talks to one subgraph. Every field has a default; tests shorten the delays. */
export interface SubgraphResilienceOptions {
  /** Keep-alive connections in the subgraph's pool. @default 32 */
  readonly connections?: number;
  /**
   * Deadline of one attempt, from queueing for a connection to the last byte of the body; the
   * fetch is aborted when it passes. @default 10_000
   */
  readonly timeoutMs?: number;
  /** Retries of a failed query (mutations are never retried). @default 2 */
  readonly maxRetries?: number;
  /** Delay before the first retry; later ones grow exponentially, with decorrelated jitter. @default 100 */
  readonly retryInitialDelayMs?: number;
  /** @default 1_000 */
  readonly retryMaxDelayMs?: number;
  /** Consecutive failed attempts that open the circuit. @default 5 */
  readonly breakerThreshold?: number;
  /** How long an open circuit fails fast before one trial call may go through. @default 30_000 */
  readonly halfOpenAfterMs?: number;
}

export type BreakerState = "closed" | "open" | "half_open";

export type FetchOutcome = "ok" | "error" | "timeout" | "circuit_open";

/** One subgraph fetch as the query plan saw it: all its attempts together. */
export interface SubgraphFetchEvent {
  readonly subgraph: string;
  /** From the first attempt to the final answer, backoff included. */
  readonly durationMs: number;
  /** `ok` means the subgraph answered 2xx, even if its GraphQL body carries errors. */
  readonly outcome: FetchOutcome;
  /** HTTP status of the last answer, when there was one. */
  readonly status?: number;
  readonly retries: number;
  /** Why it failed, for logs: it may name hosts and ports, so never show it to clients. */
  readonly error?: Error;
}

export interface SubgraphHooks {
  /** Once per subgraph fetch. Runs on the request path: keep it cheap. */
  readonly onFetch?: (event: SubgraphFetchEvent) => void;
  /** With `closed` when a subgraph is first set up, then on every transition. */
  readonly onBreakerStateChange?: (subgraph: string, state: BreakerState) => void;
}

/** The fetch did not finish within `timeoutMs`; it was aborted. */
export class SubgraphTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`subgraph did not answer within ${timeoutMs} ms`);
    this.name = "SubgraphTimeoutError";
  }
}

/** The connection failed (refused, reset, DNS...); `code` is the system or undici code. */
export class SubgraphConnectionError extends Error {
  constructor(
    readonly code: string,
    options: { cause: unknown },
  ) {
    super(`subgraph connection failed: ${code}`, options);
    this.name = "SubgraphConnectionError";
  }
}

/**
 * The subgraph answered with a non-2xx status. A GraphQLError only because
 * `RemoteGraphQLDataSource.errorFromResponse` must return one.
 */
export class SubgraphHttpError extends GraphQLError {
  constructor(readonly status: number) {
    super(`subgraph answered HTTP ${status}`);
    this.name = "SubgraphHttpError";
  }
}

/**
 * Failures worth another attempt of a query. Resets (ECONNRESET, EPIPE, undici's "other side
 * closed") are mostly a keep-alive connection the subgraph closed just as we reused it. Connect
 * timeouts and refusals mean the request never reached the subgraph, so a retry cannot double any
 * work; a refusal is what a restarting or re-scheduled instance gives, and behind a load balancer
 * or DNS name with several instances the next connection usually finds a live one. When the
 * subgraph is really down the breaker stops the retries after `breakerThreshold` attempts.
 */
const RETRYABLE_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "ECONNREFUSED"]);

/** Network failures that count against the breaker without being retried. */
const CONNECTION_CODES = new Set([
  ...RETRYABLE_CODES,
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
]);

function connectionCode(error: unknown): string | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return code;
  }
  return undefined;
}

function isRetryable(error: unknown): boolean {
  if (error instanceof SubgraphConnectionError) return RETRYABLE_CODES.has(error.code);
  return error instanceof SubgraphHttpError && error.status >= 500;
}

/**
 * What says the subgraph is unhealthy. A 4xx is not: the subgraph is up and refusing this request.
 * Our own deadline is, though it is not retried: a slow subgraph would get the load again and the
 * caller would wait `timeoutMs` once more.
 */
function isBreakerFailure(error: unknown): boolean {
  return (
    error instanceof SubgraphConnectionError ||
    error instanceof SubgraphTimeoutError ||
    (error instanceof SubgraphHttpError && error.status >= 500)
  );
}

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "open",
};

/** Statuses whose response cannot carry a body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** A broken metrics or log hook must not turn a served request into a failed one. */
function callHook(run: () => void): void {
  try {
    run();
  } catch (error) {
    process.emitWarning(error instanceof Error ? error : new Error(String(error)), "SubgraphHookWarning");
  }
}

/**
 * A Fetcher over a keep-alive undici pool. The body is read here, inside the deadline, so a
 * connection that dies mid-body is a failed attempt (retried, counted by the breaker) rather than
 * an error surfacing later in Apollo's body parsing.
 */
function pooledFetcher(pool: Pool, deadline: TimeoutPolicy, timeoutMs: number): Fetcher {
  return async (url, init = {}) => {
    const target = new URL(url);
    try {
      return await deadline.execute(async ({ signal }): Promise<FetcherResponse> => {
        const answer = await pool.request({
          path: target.pathname + target.search,
          method: init.method ?? "GET",
          headers: init.headers,
          body: init.body,
          signal,
        });
        const body = await answer.body.arrayBuffer();
        const headers = new Headers();
        for (const [name, value] of Object.entries(answer.headers)) {
          if (Array.isArray(value)) for (const item of value) headers.append(name, item);
          else if (value !== undefined) headers.append(name, value);
        }
        return new Response(NULL_BODY_STATUSES.has(answer.statusCode) ? null : body, { status: answer.statusCode, headers });
      });
    } catch (error) {
      if (isTaskCancelledError(error)) throw new SubgraphTimeoutError(timeoutMs);
      const code = connectionCode(error);
      if (code) throw new SubgraphConnectionError(code, { cause: error });
      throw error;
    }
  };
}

export interface SubgraphClientOptions extends SubgraphHooks {
  readonly name: string;
  readonly url: string;
  readonly resilience?: SubgraphResilienceOptions;
  /** Turns the pooled transport into what the data source uses (the gateway signs here). */
  readonly wrapFetcher?: (transport: Fetcher) => Fetcher;
}

/**
 * Everything the gateway keeps per subgraph across requests: the connection pool, the circuit
 * breaker and the retry policy. Data sources built for new supergraph versions share it.
 */
export class SubgraphClient {
  readonly name: string;
  readonly url: string;
  readonly fetcher: Fetcher;
  private readonly pool: Pool;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retryingBreaker: IPolicy;
  private readonly onFetch: SubgraphHooks["onFetch"];
  private closing: Promise<void> | undefined;

  constructor(options: SubgraphClientOptions) {
    const settings = options.resilience ?? {};
    const timeoutMs = settings.timeoutMs ?? 10_000;
    this.name = options.name;
    this.url = options.url;
    this.onFetch = options.onFetch;
    this.pool = new Pool(new URL(options.url).origin, { connections: settings.connections ?? 32, pipelining: 1 });
    const transport = pooledFetcher(this.pool, timeout(timeoutMs, TimeoutStrategy.Aggressive), timeoutMs);
    this.fetcher = options.wrapFetcher ? options.wrapFetcher(transport) : transport;

    this.breaker = circuitBreaker(handleWhen(isBreakerFailure), {
      halfOpenAfter: settings.halfOpenAfterMs ?? 30_000,
      breaker: new ConsecutiveBreaker(settings.breakerThreshold ?? 5),
    });
    const { onBreakerStateChange } = options;
    if (onBreakerStateChange) {
      callHook(() => onBreakerStateChange(this.name, "closed"));
      this.breaker.onStateChange((state) => callHook(() => onBreakerStateChange(this.name, BREAKER_STATES[state])));
    }
    // The breaker sits inside the retries so it sees every attempt, and an open circuit ends them.
    this.retryingBreaker = wrap(
      retry(handleWhen(isRetryable), {
        maxAttempts: settings.maxRetries ?? 2,
        backoff: new ExponentialBackoff({
          initialDelay: settings.retryInitialDelayMs ?? 100,
          maxDelay: settings.retryMaxDelayMs ?? 1_000,
        }),
      }),
      this.breaker,
    );
  }

  breakerState(): BreakerState {
    return BREAKER_STATES[this.breaker.state];
  }

  /**
   * Runs one subgraph fetch under the breaker, with retries when `idempotent`, and reports it.
   * `attempt` must do the whole fetch again each time it is called.
   */
  async execute<T extends { readonly http?: { readonly status?: number } }>(idempotent: boolean, attempt: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let attempts = 0;
    const run = () => {
      attempts += 1;
      return attempt();
    };
    const report = (outcome: FetchOutcome, status: number | undefined, error?: Error) => {
      const { onFetch } = this;
      if (!onFetch) return;
      const event: SubgraphFetchEvent = {
        subgraph: this.name,
        durationMs: performance.now() - started,
        outcome,
        retries: Math.max(0, attempts - 1),
        ...(status === undefined ? {} : { status }),
        ...(error ? { error } : {}),
      };
      callHook(() => onFetch(event));
    };
    try {
      const response = await (idempotent ? this.retryingBreaker : this.breaker).execute(run);
      report("ok", response.http?.status);
      return response;
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      const outcome: FetchOutcome = isBrokenCircuitError(error)
        ? "circuit_open"
        : error instanceof SubgraphTimeoutError
          ? "timeout"
          : "error";
      report(outcome, error instanceof SubgraphHttpError ? error.status : undefined, cause);
      throw error;
    }
  }

  /** Closes the pool once the requests in flight have finished. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.pool.close();
    return this.closing;
  }
}
