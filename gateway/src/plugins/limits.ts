import { GraphQLError } from "graphql";
import type { ApolloServerPlugin } from "@apollo/server";
import type { GatewayContext } from "../federation/signed-data-source.ts";
import { checkOperation, countTokens, type OperationLimits } from "../limits/operation-limits.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";

function refusal(code: string, message: string, limit: number, actual: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, limit, actual, http: { status: 400 } } });
}

/**
 * Depth, alias, token and cost limits, checked before anything is planned or fetched. Tokens are
 * counted before parsing (a huge document is refused before it costs a parse); a source already
 * seen within the limit is not counted again.
 */
export function limitsPlugin(options: { limits: OperationLimits; metrics: GatewayMetrics }): ApolloServerPlugin<GatewayContext> {
  const { limits, metrics } = options;
  const withinTokenLimit = new Set<string>();
  return {
    async requestDidStart() {
      return {
        async didResolveSource({ source, queryHash }) {
          if (withinTokenLimit.has(queryHash)) return;
          const tokens = countTokens(source, limits.maxTokens);
          if (tokens > limits.maxTokens) {
            metrics.limitRefusals.inc({ code: "TOKEN_LIMIT_EXCEEDED" });
            throw refusal("TOKEN_LIMIT_EXCEEDED", `The document has more than ${limits.maxTokens} tokens`, limits.maxTokens, tokens);
          }
          if (withinTokenLimit.size > 50_000) withinTokenLimit.clear();
          withinTokenLimit.add(queryHash);
        },
        async didResolveOperation({ document, operationName, request }) {
          const check = checkOperation(document, operationName ?? undefined, request.variables, { ...limits, maxTokens: Number.MAX_SAFE_INTEGER });
          if (!check.ok) {
            metrics.limitRefusals.inc({ code: check.code });
            throw refusal(check.code, check.message, check.limit, check.actual);
          }
        },
      };
    },
  };
}
