import { Pool, errors as undiciErrors, type Dispatcher } from "undici";

/** The connection pool and deadline of one subgraph. */
export interface SubgraphTransportOptions {
  /** Keep-alive connections in the subgraph's pool. @default 32 */
  readonly connections?: number;
  /**
   * Deadline of one attempt, from queueing for a connection to the last byte of the body; the
   * fetch is aborted when it passes. @default 10_000
   */
  readonly timeoutMs?: number;
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

  constructor(code: string, options: { cause: unknown }) {
    super(`subgraph connection failed: ${code}`, options);
    this.code = code;
    this.name = "SubgraphConnectionError";
  }
}

/**
 * The exchange broke down some other way on the subgraph's side: an answer HTTP cannot parse, a
 * header block too large, a body shorter than its Content-Length... `cause` is undici's error.
 */
export class SubgraphProtocolError extends Error {
  constructor(options: { cause: Error }) {
    super(`subgraph exchange failed: ${options.cause.message}`, options);
    this.name = "SubgraphProtocolError";
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

/** A 2xx answer whose body is not what a GraphQL subgraph sends (not retried, not a breaker failure). */
export class SubgraphBodyError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "SubgraphBodyError";
  }
}

/**
 * True when the subgraph (or the way to it) failed; false for anything else thrown around a fetch,
 * which is a fault of the gateway itself.
 */
export function isSubgraphFault(error: unknown): boolean {
  return (
    error instanceof SubgraphConnectionError ||
    error instanceof SubgraphTimeoutError ||
    error instanceof SubgraphProtocolError ||
    error instanceof SubgraphHttpError ||
    error instanceof SubgraphBodyError
  );
}

/**
 * Network failures: the request did not get through, or the connection went away under it. The
 * retry policy picks the ones worth another attempt among these.
 */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "EPIPE",
  "UND_ERR_SOCKET",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
]);

/** undici's complaints about how it was called: our bug, not the subgraph's. */
const USAGE_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_INVALID_ARG",
  "UND_ERR_INVALID_RETURN_VALUE",
  "UND_ERR_NOT_SUPPORTED",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
]);

function codeOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

function connectionCode(error: unknown): string | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = codeOf(current);
    if (code !== undefined && CONNECTION_CODES.has(code)) return code;
  }
  return undefined;
}

/**
 * What a failure undici reports becomes: a connection or protocol error of the subgraph, or, for
 * an error of our own (a handler callback that threw, a request undici refuses), itself.
 */
function classify(error: Error): Error {
  const code = connectionCode(error);
  if (code !== undefined) return new SubgraphConnectionError(code, { cause: error });
  const fromTransport =
    (error instanceof undiciErrors.UndiciError && !USAGE_CODES.has(codeOf(error) ?? "")) ||
    // The answer is not HTTP (not an UndiciError at run time, whatever the types say).
    error instanceof undiciErrors.HTTPParserError ||
    // A system error of the socket (it names the system call that failed).
    typeof (error as { syscall?: unknown }).syscall === "string";
  return fromTransport ? new SubgraphProtocolError({ cause: error }) : error;
}

/** One complete HTTP answer of a subgraph: status, the two headers the gateway reads, whole body. */
export interface SubgraphAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly cacheControl: string | undefined;
  readonly body: Buffer;
}

/** A header repeated in the answer counts with its last value, as a raw-header scan would read it. */
function headerValue(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/**
 * One request through undici's dispatcher interface: the body is collected as chunks and
 * concatenated once, without a stream, a `Response`, `Headers` or an `AbortSignal`. The deadline
 * covers queueing for a connection through to the last byte of the body; when it passes, the
 * request is aborted (the connection is closed) and the promise rejects with `SubgraphTimeoutError`.
 */
function dispatchRequest(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, timeoutMs: number): Promise<SubgraphAnswer> {
  return new Promise<SubgraphAnswer>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
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
      controller?.abort(failure);
      reject(failure);
    }, timeoutMs);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        // Timed out while queued for a connection: abort as soon as undici hands it one.
        if (failure) return started.abort(failure);
        controller = started;
      },
      onResponseStart(_controller, statusCode, headers) {
        status = statusCode;
        contentType = headerValue(headers, "content-type");
        cacheControl = headerValue(headers, "cache-control");
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
        size += chunk.length;
      },
      onResponseEnd() {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        resolve({ status, contentType, cacheControl, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
      },
      // The controller is null when undici refuses the request before it starts (a closed pool).
      onResponseError(_controller, error) {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        reject(classify(error));
      },
    };
    dispatcher.dispatch(options, handler);
  });
}

/** A subgraph's keep-alive connection pool: whole answers of POSTs, each within a deadline. */
export class SubgraphTransport {
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private closing: Promise<void> | undefined;

  /** `origin`: scheme, host and port of the subgraph. */
  constructor(origin: string, options: SubgraphTransportOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    // HTTP/1.1 keep-alive connections, one request at a time each: undici 8 would otherwise offer
    // h2 to a TLS subgraph, and one h2 session would carry every request of the pool.
    this.pool = new Pool(origin, { connections: options.connections ?? 32, pipelining: 1, allowH2: false });
  }

  /** One attempt: POSTs `body` to `path` and reads the whole answer within the deadline. */
  post(path: string, headers: Record<string, string>, body: string | Buffer): Promise<SubgraphAnswer> {
    return dispatchRequest(this.pool, { method: "POST", path, headers, body }, this.timeoutMs);
  }

  /** Closes the pool once the requests in flight have finished. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.pool.close();
    return this.closing;
  }
}
