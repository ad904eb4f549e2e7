import { GraphQLError } from "graphql";
import { LRUCache } from "lru-cache";
import type { ApolloServerPlugin } from "@apollo/server";
import type { GatewayContext } from "../execution/context.ts";
import { checkOperation, refuseSource, type OperationLimits } from "../limits/operation-limits.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";

function refusal(code: string, message: string, limit: number, actual: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, limit, actual, http: { status: 400 } } });
}

/**
 * Depth, alias and cost limits, checked once the operation is resolved and before anything is
 * planned or fetched. (Tokens are counted earlier, before parsing: see `TokenGate`.)
 */
export function limitsPlugin(options: { limits: OperationLimits; metrics: GatewayMetrics }): ApolloServerPlugin<GatewayContext> {
  const { limits, metrics } = options;
  // The document's tokens were counted before it was parsed.
  const withoutTokenLimit = { ...limits, maxTokens: Number.MAX_SAFE_INTEGER };
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, request }) {
          const check = checkOperation(document, operationName ?? undefined, request.variables, withoutTokenLimit);
          if (!check.ok) {
            metrics.limitRefusals.inc({ code: check.code });
            throw refusal(check.code, check.message, check.limit, check.actual);
          }
        },
      };
    },
  };
}

/**
 * Refuses documents over the token limit before they are parsed, so a huge document costs a
 * lexer pass, not a parse. Sources already seen within the limit are not counted again; at most
 * `capacity` of them are remembered, the least recently seen forgotten first.
 */
export class TokenGate {
  private readonly within: LRUCache<string, true>;
  private readonly maxTokens: number;

  /** @param capacity Sources remembered at most. @default 50_000 */
  constructor(maxTokens: number, capacity = 50_000) {
    this.maxTokens = maxTokens;
    this.within = new LRUCache({ max: capacity });
  }

  /** Why the source must not be parsed (too many tokens, too deeply nested), else null. */
  refusal(source: string): ReturnType<typeof refuseSource> {
    if (this.within.get(source)) return null;
    const refused = refuseSource(source, this.maxTokens);
    if (refused) return refused;
    this.within.set(source, true);
    return null;
  }
}
