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
import { Pool, type Dispatcher } from "undici";

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
  /** With `closed` and `initial` true when a subgraph is first set up, then on every transition. */
  readonly onBreakerStateChange?: (subgraph: string, state: BreakerState, initial: boolean) => void;
}

/** The fetch did not finish within `timeoutMs`; it was aborted. */
export class SubgraphTimeoutError extends Error {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`subgraph did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
    this.name = "SubgraphTimeoutError";
  }
}

/** The connection failed (refused, reset, DNS...); `code` is the system or undici code. */
export class SubgraphConnectionError extends Error {
  readonly code: string;

  constructor(
    code: string,
    options: { cause: unknown },
  ) {
    super(`subgraph connection failed: ${code}`, options);
    this.code = code;
    this.name = "SubgraphConnectionError";
  }
}

/** The subgraph answered with a non-2xx status (its body is not kept: it may name internals). */
export class SubgraphHttpError extends Error {
  readonly status: number;

  constructor(status: number) {
    super(`subgraph answered HTTP ${status}`);
    this.status = status;
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

/** A broken metrics or log hook must not turn a served request into a failed one. */
function callHook(run: () => void): void {
  try {
    run();
  } catch (error) {
    process.emitWarning(error instanceof Error ? error : new Error(String(error)), "SubgraphHookWarning");
  }
}

/** One complete HTTP answer of a subgraph: status, the two headers the gateway reads, whole body. */
export interface SubgraphAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly cacheControl: string | undefined;
  readonly body: Buffer;
}

const CONTENT_TYPE = Buffer.from("content-type");
const CACHE_CONTROL = Buffer.from("cache-control");

/** Case-insensitive compare of a raw header name with a lower-case ASCII name. */
function isHeader(raw: Buffer | string, lower: Buffer): boolean {
  if (typeof raw === "string") return raw.length === lower.length && raw.toLowerCase() === lower.toString("latin1");
  if (raw.length !== lower.length) return false;
  for (let index = 0; index < raw.length; index += 1) {
    // ASCII letters: set the lower-case bit; the names compared here are letters and "-" only.
    if ((raw[index]! | 0x20) !== lower[index]) return false;
  }
  return true;
}

/**
 * One request over the pool through undici's dispatcher interface: the body is collected as
 * chunks and concatenated once, without a stream, a `Response`, `Headers` or an `AbortSignal`.
 * The deadline covers queueing for a connection through to the last byte of the body; when it
 * passes, the request is aborted (the connection is closed) and the promise rejects with
 * `SubgraphTimeoutError`.
 */
function dispatchRequest(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  timeoutMs: number,
): Promise<SubgraphAnswer> {
  return new Promise<SubgraphAnswer>((resolve, reject) => {
    let abort: ((reason?: Error) => void) | undefined;
    let failure: Error | undefined;
    let settled = false;
    let status = 0;
    let contentType: string | undefined;
    let cacheControl: string | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      failure = new SubgraphTimeoutError(timeoutMs);
      abort?.(failure);
      reject(failure);
    }, timeoutMs);
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abortRequest) {
        // Timed out while queued for a connection: abort as soon as undici hands it one.
        if (failure) return abortRequest(failure);
        abort = abortRequest;
      },
      onHeaders(statusCode, rawHeaders) {
        status = statusCode;
        for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
          const name = rawHeaders[index]!;
          if (isHeader(name, CONTENT_TYPE)) contentType = rawHeaders[index + 1]!.toString();
          else if (isHeader(name, CACHE_CONTROL)) cacheControl = rawHeaders[index + 1]!.toString();
        }
        return true;
      },
      onData(chunk) {
        chunks.push(chunk);
        size += chunk.length;
        return true;
      },
      onComplete() {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        resolve({ status, contentType, cacheControl, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
      },
      onError(error) {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        const code = connectionCode(error);
        reject(code ? new SubgraphConnectionError(code, { cause: error }) : error);
      },
    };
    pool.dispatch(options, handler);
  });
}

export interface SubgraphClientOptions extends SubgraphHooks {
  readonly name: string;
  readonly url: string;
  readonly resilience?: SubgraphResilienceOptions;
}

/**
 * Everything the gateway keeps per subgraph across requests: the connection pool, the circuit
 * breaker and the retry policy. Data sources built for new supergraph versions share it.
 */
export class SubgraphClient {
  readonly name: string;
  readonly url: string;
  /** Path of the subgraph's GraphQL endpoint, without the query string: what the signature covers. */
  readonly path: string;
  /** Path and query string: what is requested. */
  private readonly requestPath: string;
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retryingBreaker: IPolicy;
  private readonly onFetch: SubgraphHooks["onFetch"];
  private closing: Promise<void> | undefined;

  constructor(options: SubgraphClientOptions) {
    const settings = options.resilience ?? {};
    this.timeoutMs = settings.timeoutMs ?? 10_000;
    this.name = options.name;
    this.url = options.url;
    const target = new URL(options.url);
    this.path = target.pathname;
    this.requestPath = target.pathname + target.search;
    this.onFetch = options.onFetch;
    this.pool = new Pool(target.origin, { connections: settings.connections ?? 32, pipelining: 1 });

    this.breaker = circuitBreaker(handleWhen(isBreakerFailure), {
      halfOpenAfter: settings.halfOpenAfterMs ?? 30_000,
      breaker: new ConsecutiveBreaker(settings.breakerThreshold ?? 5),
    });
    const { onBreakerStateChange } = options;
    if (onBreakerStateChange) {
      callHook(() => onBreakerStateChange(this.name, "closed", true));
      this.breaker.onStateChange((state) => callHook(() => onBreakerStateChange(this.name, BREAKER_STATES[state], false)));
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
      const outcome: FetchOutcome = isBrokenCircuitError(error)
        ? "circuit_open"
        : error instanceof SubgraphTimeoutError
          ? "timeout"
          : "error";
      report(outcome, error instanceof SubgraphHttpError ? error.status : undefined, cause);
      throw error;
    }
  }

  /**
   * One attempt: POSTs `body` with `headers` to the subgraph and reads the whole answer within
   * the deadline. Not retried and not guarded by the breaker: run it inside `execute`.
   */
  post(headers: Record<string, string>, body: string | Buffer): Promise<SubgraphAnswer> {
    return dispatchRequest(this.pool, { method: "POST", path: this.requestPath, headers, body }, this.timeoutMs);
  }

  /** Closes the pool once the requests in flight have finished. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.pool.close();
    return this.closing;
  }
}
