/**
 * The integrations' two doors in the gateway.
 *
 * Inbound: Slack and Microsoft Teams call public URLs at the gateway's address
 * (`/integrations/slack/*`, `/integrations/teams/*`). The gateway hands each request byte for byte
 * to the integrations runtime, which verifies the chat service's signature or token before
 * anything else (the gateway cannot: the bytes must stay as signed). The forwarded request carries
 * the gateway's internal signature, with the caller's identity on the paths a Sunday user calls
 * (the install links), so the runtime trusts who asks exactly as a subgraph does.
 *
 * Outbound: `POST /internal/graphql` is how the runtime acts as a mapped chat user. It takes a
 * request signed with the internal secret the subgraphs already trust (so it grants nothing that
 * secret did not) and runs the operation through the same pipeline as POST /graphql: operation
 * limits, query plan, signed subgraph calls, the caller's own rate limits.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../../../platform/logger.ts";
import { NonceRegistry, signInternalRequest, verifyInternalRequest, type Identity, type NonceStore } from "../../../platform/identity.ts";
import { PayloadTooLargeError, headerOf, readBodyBytes } from "../../../platform/http.ts";
import { problem, sendProblem } from "../../../platform/problem.ts";
import type { RateLimiter } from "../limits/rate-limit.ts";
import type { Admit } from "../execution/admission.ts";
import type { RunOperation } from "../execution/run-operation.ts";

/** Paths Sunday users (not chat services) call: the gateway authenticates them and forwards who they are. */
const USER_PATHS: ReadonlySet<string> = new Set(["/integrations/slack/install", "/integrations/teams/install"]);
const INBOUND_PREFIXES = ["/integrations/slack/", "/integrations/teams/"] as const;
export const INTERNAL_GRAPHQL_PATH = "/internal/graphql";

/** Request headers the runtime needs from the chat service; everything else stays at the edge. */
const FORWARDED_HEADERS = [
  "content-type",
  "authorization",
  "accept",
  "user-agent",
  "x-slack-signature",
  "x-slack-request-timestamp",
  "x-slack-retry-num",
  "x-slack-retry-reason",
] as const;
/** Response headers the chat service (or the browser, for the install redirect) needs back. */
const RETURNED_HEADERS = ["content-type", "location", "cache-control", "retry-after"] as const;

export interface IntegrationsRelayOptions {
  /** The integrations runtime's HTTP address; a function when it is known only after the gateway starts. Absent: 404. */
  readonly runtimeUrl?: string | (() => string | undefined);
  readonly signingSecret: string;
  readonly admit: Admit;
  readonly runOperation: RunOperation;
  readonly rateLimiter: RateLimiter | null;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** Where served requests' nonces are remembered (Redis across gateways). @default this process */
  readonly nonces?: NonceStore;
  /** How long the runtime may take to answer (Slack wants an answer within 3 s). @default 10 s */
  readonly timeoutMs?: number;
}

export interface IntegrationsRelay {
  handles(url: URL): boolean;
  handle(request: IncomingMessage, response: ServerResponse, url: URL, correlationId: string): Promise<void>;
}

export function createIntegrationsRelay(options: IntegrationsRelayOptions): IntegrationsRelay {
  const { logger, signingSecret } = options;
  const nonces = options.nonces ?? new NonceRegistry();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const runtimeUrl = () => (typeof options.runtimeUrl === "function" ? options.runtimeUrl() : options.runtimeUrl);

  async function forward(request: IncomingMessage, response: ServerResponse, url: URL, correlationId: string): Promise<void> {
    const base = runtimeUrl();
    if (!base) return sendProblem(response, problem("NOT_FOUND", "integrations are not configured on this deployment", { correlationId }));
    let identity: Identity | null = null;
    if (USER_PATHS.has(url.pathname)) {
      const admission = await options.admit(request.headers, correlationId, request.socket.remoteAddress);
      for (const [name, value] of Object.entries(admission.headers)) response.setHeader(name, value);
      if (!admission.ok) {
        const { refusal } = admission;
        return sendProblem(response, problem(refusal.code, refusal.message, { correlationId, retryAfterSeconds: refusal.retryAfterSeconds }));
      }
      if (!admission.caller) return sendProblem(response, problem("UNAUTHENTICATED", "sign in to install an integration", { correlationId }));
      identity = admission.caller.identity;
    }
    const body = request.method === "GET" || request.method === "HEAD" ? Buffer.alloc(0) : await readBodyBytes(request, options.maxBodyBytes);
    const path = url.pathname + url.search;
    const method = request.method ?? "GET";
    const headers: Record<string, string> = signInternalRequest({ method, path, body, identity, correlationId }, signingSecret);
    for (const name of FORWARDED_HEADERS) {
      const value = request.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    let answer: Response;
    try {
      answer = await fetch(new URL(path, base), {
        method,
        headers,
        // A copy as a plain Uint8Array: a Buffer is no BodyInit under every @types/node the code is checked with.
        body: body.length > 0 ? new Uint8Array(body) : undefined,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      logger.error({ err: error, correlationId, path: url.pathname }, "integrations runtime unreachable");
      return sendProblem(response, problem("SUBGRAPH_UNAVAILABLE", "the integrations runtime is unavailable", { correlationId, retryAfterSeconds: 5 }));
    }
    const bytes = Buffer.from(await answer.arrayBuffer());
    const returned: Record<string, string> = { "content-length": String(bytes.length) };
    for (const name of RETURNED_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) returned[name] = value;
    }
    response.writeHead(answer.status, returned);
    response.end(bytes);
  }

  async function actAs(request: IncomingMessage, response: ServerResponse, correlationId: string): Promise<void> {
    if (request.method !== "POST") return sendProblem(response, problem("METHOD_NOT_ALLOWED", "POST only", { correlationId }));
    const body = (await readBodyBytes(request, options.maxBodyBytes)).toString("utf8");
    const verified = await verifyInternalRequest({ method: "POST", path: INTERNAL_GRAPHQL_PATH, body }, headerOf(request), signingSecret, nonces);
    if (!verified.ok || !verified.identity) {
      logger.warn({ correlationId, reason: verified.ok ? "no identity" : verified.reason }, "refused an internal operation");
      return sendProblem(response, problem("UNAUTHENTICATED", "internal operations must be signed, with an identity", { correlationId }));
    }
    const identity = verified.identity;
    const principal = `user:${identity.userId}`;
    if (options.rateLimiter) {
      const verdict = await options.rateLimiter.consume(principal);
      if (!verdict.allowed) {
        return sendProblem(response, problem("RATE_LIMITED", "rate limit exceeded", { correlationId, retryAfterSeconds: verdict.retryAfterSeconds }));
      }
    }
    let operation: { query?: unknown; operationName?: unknown; variables?: unknown };
    try {
      operation = JSON.parse(body) as typeof operation;
    } catch {
      return sendProblem(response, problem("BAD_REQUEST", "the body is not JSON", { correlationId }));
    }
    if (typeof operation.query !== "string") return sendProblem(response, problem("BAD_REQUEST", "query must be a string", { correlationId }));
    const result = await options.runOperation(
      {
        query: operation.query,
        operationName: typeof operation.operationName === "string" ? operation.operationName : undefined,
        variables: typeof operation.variables === "object" && operation.variables !== null ? (operation.variables as Record<string, unknown>) : undefined,
      },
      {
        caller: { identity, principal, via: "jwt" },
        correlationId: verified.correlationId || correlationId,
        // The runtime says (signed) which chat app the user acted through.
        surface: verified.channel?.surface === "slack" || verified.channel?.surface === "teams" ? verified.channel.surface : "system",
      },
    );
    const text = JSON.stringify(result);
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    response.end(text);
  }

  return {
    handles: (url) => url.pathname === INTERNAL_GRAPHQL_PATH || INBOUND_PREFIXES.some((prefix) => url.pathname.startsWith(prefix)),
    async handle(request, response, url, correlationId) {
      try {
        if (url.pathname === INTERNAL_GRAPHQL_PATH) return await actAs(request, response, correlationId);
        return await forward(request, response, url, correlationId);
      } catch (error) {
        if (error instanceof PayloadTooLargeError) return sendProblem(response, problem("PAYLOAD_TOO_LARGE", error.message, { correlationId }));
        throw error;
      }
    },
  };
}
