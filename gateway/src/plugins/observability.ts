import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse } from "@apollo/server";
import { LRUCache } from "lru-cache";
import { isErrorCode } from "../../../platform/error-codes.ts";
import type { Logger } from "../../../platform/logger.ts";
import { PROBLEM_KINDS } from "../../../platform/problem.ts";
import type { GatewayContext } from "../execution/context.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { principalOf } from "../usage/principal.ts";
import type { UsageRecorder } from "../usage/recorder.ts";

/**
 * Which operations the gateway has planned already. @apollo/gateway keeps its plans in a private
 * LRU keyed by query hash and operation name; we mirror that key (without reaching into the
 * gateway) to report plan-cache hits and misses. Cleared when the supergraph changes, as the
 * gateway clears its own.
 */
export class PlanCacheTracker {
  private readonly seen: LRUCache<string, true>;

  /** @param capacity Operations remembered at most, least recently planned forgotten first. @default 10_000 */
  constructor(capacity = 10_000) {
    this.seen = new LRUCache({ max: capacity });
  }

  /** True when this operation was planned before. */
  visit(queryHash: string, operationName: string | null | undefined): boolean {
    const key = `${queryHash}:${operationName ?? ""}`;
    if (this.seen.get(key)) return true;
    this.seen.set(key, true);
    return false;
  }

  clear(): void {
    this.seen.clear();
  }
}

function errorCodes(context: GraphQLRequestContextWillSendResponse<GatewayContext>): string[] {
  const { body } = context.response;
  const errors = body.kind === "single" ? (body.singleResult.errors ?? []) : (body.initialResult.errors ?? []);
  return errors.map((error) => String(error.extensions?.code ?? "INTERNAL_SERVER_ERROR"));
}

/** What the worst of the codes would be over HTTP (REST's mapping, platform/problem.ts); an unknown code is a 500. */
export function resultOf(codes: readonly string[]): "ok" | "client_error" | "server_error" {
  if (codes.length === 0) return "ok";
  return codes.some((code) => (isErrorCode(code) ? PROBLEM_KINDS[code].status : 500) >= 500) ? "server_error" : "client_error";
}

/** The HTTP status the worst of the codes maps to over REST (platform/problem.ts); 200 for none, 500 for an unknown one. */
export function statusOf(codes: readonly string[]): number {
  let status = 200;
  for (const code of codes) status = Math.max(status, isErrorCode(code) ? PROBLEM_KINDS[code].status : 500);
  return status;
}

/**
 * Per-operation metrics and one structured log line per request (no tokens, no variables); a usage
 * record for each /graphql operation of an authenticated caller when `usage` is given.
 */
export function observabilityPlugin(options: {
  metrics: GatewayMetrics;
  logger: Logger;
  plans: PlanCacheTracker;
  usage?: UsageRecorder;
}): ApolloServerPlugin<GatewayContext> {
  const { metrics, logger, plans, usage } = options;
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async didResolveOperation(context) {
          if (context.operation?.operation !== "subscription") {
            metrics.queryPlanCache.inc({ result: plans.visit(context.queryHash, context.operationName) ? "hit" : "miss" });
          }
        },
        async willSendResponse(context) {
          const seconds = (performance.now() - started) / 1000;
          const operation = metrics.operationLabel(context.operationName ?? context.request.operationName);
          const codes = errorCodes(context);
          const hasData = context.response.body.kind === "single" && context.response.body.singleResult.data != null;
          const outcome = codes.length === 0 ? "success" : hasData ? "partial" : "error";
          metrics.requests.inc({ operation, outcome });
          metrics.duration.observe({ operation }, seconds);
          metrics.operationDuration.observe({ type: context.operation?.operation ?? "unknown", result: resultOf(codes) }, seconds);
          for (const code of codes) metrics.errors.inc({ code });
          const { identity, correlationId } = context.contextValue;
          const tag = context.contextValue.usage;
          const principal = usage && tag && identity ? principalOf(tag.principal) : null;
          if (usage && tag && identity && principal) {
            usage.record({
              at: Date.now(),
              organizationId: identity.organizationId,
              ...principal,
              surface: "graphql",
              operation,
              apiVersion: "",
              status: statusOf(codes),
              durationMs: seconds * 1000,
              userAgent: tag.userAgent,
            });
          }
          const record = {
            correlationId,
            operation: context.operationName ?? context.request.operationName ?? null,
            userId: identity?.userId,
            organizationId: identity?.organizationId,
            durationMs: Math.round(seconds * 1000 * 10) / 10,
            ...(codes.length > 0 ? { errors: codes } : {}),
          };
          if (outcome === "success") logger.info(record, "graphql request");
          else logger.warn(record, "graphql request with errors");
        },
      };
    },
  };
}
