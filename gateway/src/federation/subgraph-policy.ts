import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from "cockatiel";
import { SubgraphConnectionError, SubgraphHttpError, SubgraphTimeoutError } from "./subgraph-transport.ts";

/** Retries and circuit breaker of one subgraph. Every field has a default; tests shorten the delays. */
export interface SubgraphPolicyOptions {
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
  /** With `closed` and `initial` true when a subgraph is first set up, then on every transition. */
  readonly onBreakerStateChange?: (subgraph: string, state: BreakerState, initial: boolean) => void;
}

/**
 * Failures worth another attempt of a query. Resets (ECONNRESET, EPIPE, undici's "other side
 * closed") are mostly a keep-alive connection the subgraph closed just as we reused it. Connect
 * timeouts and refusals mean the request never reached the subgraph, so a retry cannot double any
 * work; a refusal is what a restarting or re-scheduled instance gives, and behind a load balancer
 * or DNS name with several instances the next connection usually finds a live one. When the
 * subgraph is really down the breaker stops the retries after `breakerThreshold` attempts. Other
 * connection failures count against the breaker without being retried.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "ECONNREFUSED"]);

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
  return error instanceof SubgraphConnectionError || error instanceof SubgraphTimeoutError || (error instanceof SubgraphHttpError && error.status >= 500);
}

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "open",
};

/** A broken metrics or log hook must not turn a served request into a failed one. */
function callHook(run: () => void): void {
  try {
    run();
  } catch (error) {
    process.emitWarning(error instanceof Error ? error : new Error(String(error)), "SubgraphHookWarning");
  }
}

/** The circuit breaker and retry policy of one subgraph (cockatiel), and the fetch events it reports. */
export class SubgraphPolicy {
  private readonly name: string;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retryingBreaker: IPolicy;
  private readonly onFetch: SubgraphHooks["onFetch"];

  /** `name`: the subgraph's, as hooks report it. */
  constructor(name: string, options: SubgraphPolicyOptions = {}, hooks: SubgraphHooks = {}) {
    this.name = name;
    this.onFetch = hooks.onFetch;
    this.breaker = circuitBreaker(handleWhen(isBreakerFailure), {
      halfOpenAfter: options.halfOpenAfterMs ?? 30_000,
      breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
    });
    const { onBreakerStateChange } = hooks;
    if (onBreakerStateChange) {
      callHook(() => onBreakerStateChange(name, "closed", true));
      this.breaker.onStateChange((state) => callHook(() => onBreakerStateChange(name, BREAKER_STATES[state], false)));
    }
    // The breaker sits inside the retries so it sees every attempt, and an open circuit ends them.
    this.retryingBreaker = wrap(
      retry(handleWhen(isRetryable), {
        maxAttempts: options.maxRetries ?? 2,
        backoff: new ExponentialBackoff({
          initialDelay: options.retryInitialDelayMs ?? 100,
          maxDelay: options.retryMaxDelayMs ?? 1_000,
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
  async execute<T extends { readonly status?: number }>(idempotent: boolean, attempt: () => Promise<T>): Promise<T> {
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
      report("ok", response.status);
      return response;
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      const outcome: FetchOutcome = isBrokenCircuitError(error) ? "circuit_open" : error instanceof SubgraphTimeoutError ? "timeout" : "error";
      report(outcome, error instanceof SubgraphHttpError ? error.status : undefined, cause);
      throw error;
    }
  }
}
