import { GraphQLError } from "graphql";
import type { ApolloServerPlugin } from "@apollo/server";
import type { ErrorCode } from "../../../platform/error-codes.ts";
import type { GatewayContext } from "../execution/context.ts";

function badRequest(code: ErrorCode, message: string, status = 400): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status } } });
}

/**
 * Client mistakes about which operation to run, answered as GraphQL-over-HTTP asks (a 4xx with a
 * code) before the gateway's planner sees them: left to it, a document whose operation cannot be
 * chosen fails inside query planning as a 500 `INVALID_GRAPHQL`.
 * - several operations and no `operationName`, or an `operationName` the document lacks;
 * - a subscription sent over HTTP: subscriptions are served over WebSocket (graphql-transport-ws)
 *   on the same path. Operations run in process (REST, subscription payloads) have no `http` and
 *   are not concerned.
 */
export function operationResolutionPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, document }) {
          if (!operation) {
            const named = request.operationName;
            if (named) throw badRequest("OPERATION_NOT_FOUND", `The document has no operation named "${named}"`);
            const count = document.definitions.filter((definition) => definition.kind === "OperationDefinition").length;
            throw count === 0
              ? badRequest("BAD_REQUEST", "The document has no operation")
              : badRequest("OPERATION_NAME_REQUIRED", `The document has ${count} operations: say which to run in operationName`);
          }
          if (operation.operation === "subscription" && request.http) {
            throw badRequest(
              "SUBSCRIPTION_REQUIRES_WEBSOCKET",
              "Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql, not over HTTP",
              request.http.method === "GET" ? 405 : 400,
            );
          }
        },
      };
    },
  };
}
