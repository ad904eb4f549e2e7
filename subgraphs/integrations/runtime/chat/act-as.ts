/**
 * The runtime's way of acting as a chat user: the operation goes to the gateway's
 * POST /internal/graphql, signed with the internal secret and carrying the user's identity, and
 * runs there exactly as the user's own request would (limits, plan, authorization in the subgraphs).
 */
import { randomUUID } from "node:crypto";
import { signInternalRequest } from "../../../../platform/identity.ts";
import type { ActAs } from "./model.ts";
import type { FormattedExecutionResult } from "graphql";

export const INTERNAL_GRAPHQL_PATH = "/internal/graphql";

export function createActAs(options: { gatewayUrl: string | (() => string); signingSecret: string; timeoutMs?: number }): ActAs {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (identity, operation, surface) => {
    const body = JSON.stringify(operation);
    const correlationId = `chat-${randomUUID()}`;
    const base = typeof options.gatewayUrl === "function" ? options.gatewayUrl() : options.gatewayUrl;
    const headers = signInternalRequest(
      { method: "POST", path: INTERNAL_GRAPHQL_PATH, body, identity, correlationId, channel: { surface: surface ?? "system" } },
      options.signingSecret,
    );
    const response = await fetch(new URL(INTERNAL_GRAPHQL_PATH, base), {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (response.headers.get("content-type")?.startsWith("application/json")) return JSON.parse(text) as FormattedExecutionResult;
    // A refusal before execution (problem+json): rate limited, unauthenticated.
    const problem = JSON.parse(text) as { code?: string; detail?: string };
    return { errors: [{ message: problem.detail ?? `gateway answered ${response.status}`, extensions: { code: problem.code ?? "INTERNAL_SERVER_ERROR" } }] };
  };
}
