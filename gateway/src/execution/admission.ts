import type { IncomingHttpHeaders } from "node:http";
import { AuthenticationError } from "../auth/jwt.ts";
import type { Authenticate, Caller } from "../auth/authenticate.ts";
import { rateLimitHeaders, type RateLimiter } from "../limits/rate-limit.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import type { Logger } from "../../../platform/logger.ts";
import type { ErrorCode } from "../../../platform/error-codes.ts";

/** Why a request is turned away before any GraphQL work: the same for GraphQL, REST and sockets. */
export interface Refusal {
  readonly status: 401 | 429 | 503;
  readonly code: Extract<ErrorCode, "UNAUTHENTICATED" | "RATE_LIMITED" | "AUTHENTICATION_UNAVAILABLE">;
  readonly message: string;
  /** Seconds, with RATE_LIMITED. */
  readonly retryAfterSeconds?: number;
}

export type Admission =
  | { readonly ok: true; readonly caller: Caller | null; readonly headers: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly refusal: Refusal; readonly headers: Readonly<Record<string, string>> };

/**
 * `clientAddress` (the socket's peer) is what anonymous callers are rate limited by; without it an
 * anonymous request is admitted unmetered (surfaces that refuse anonymous callers outright).
 */
export type Admit = (headers: IncomingHttpHeaders, correlationId: string, clientAddress?: string) => Promise<Admission>;

/**
 * Credential check, then the caller's rate limit. A request without a credential is admitted with
 * `caller: null`: each surface decides what anonymous callers may do (GraphiQL's introspection).
 * Anonymous callers count against their client address (`anon:<address>`, the same windows as a
 * user), so nobody gets unmetered work out of the gateway by leaving the credential off.
 * `headers` (X-RateLimit-*) belong on the response whatever the outcome.
 */
export function createAdmission(options: { authenticate: Authenticate; rateLimiter: RateLimiter | null; metrics: GatewayMetrics; logger: Logger }): Admit {
  const { authenticate, rateLimiter, metrics, logger } = options;
  return async (headers, correlationId, clientAddress) => {
    let caller: Caller | null;
    try {
      caller = await authenticate(headers);
    } catch (error) {
      if (error instanceof AuthenticationError) {
        return { ok: false, headers: {}, refusal: { status: 401, code: "UNAUTHENTICATED", message: `Unauthenticated: ${error.message}` } };
      }
      // The credential could not be checked (the users subgraph is down): not the caller's fault.
      logger.error({ err: error, correlationId }, "authentication unavailable");
      return {
        ok: false,
        headers: {},
        refusal: { status: 503, code: "AUTHENTICATION_UNAVAILABLE", message: "Credentials cannot be checked right now; retry shortly" },
      };
    }
    if (!rateLimiter) return { ok: true, caller, headers: {} };
    const principal = caller?.principal ?? (clientAddress === undefined ? null : `anon:${clientAddress}`);
    if (principal === null) return { ok: true, caller, headers: {} };
    const decision = await rateLimiter.consume(principal);
    const limitHeaders = rateLimitHeaders(decision);
    if (decision.allowed) return { ok: true, caller, headers: limitHeaders };
    metrics.rateLimitRefusals.inc();
    metrics.requests.inc({ operation: "rate_limited", outcome: "refused" });
    const retryAfterSeconds = decision.retryAfterSeconds ?? 1;
    return {
      ok: false,
      headers: limitHeaders,
      refusal: { status: 429, code: "RATE_LIMITED", message: `Rate limit exceeded; retry in ${retryAfterSeconds} s`, retryAfterSeconds },
    };
  };
}
