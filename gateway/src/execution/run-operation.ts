import type { FormattedExecutionResult } from "graphql";
import type { Caller } from "../auth/authenticate.ts";
import type { Surface } from "../../../platform/identity.ts";

/** A GraphQL operation the gateway runs on a caller's behalf without an HTTP round trip to itself. */
export interface OperationRequest {
  readonly query: string;
  readonly operationName?: string;
  readonly variables?: Readonly<Record<string, unknown>>;
}

/** Who runs it: an admitted caller (see Admission) and the correlation id of the surrounding request. */
export interface OperationCaller {
  readonly caller: Caller;
  readonly correlationId: string;
  /** Where the operation comes from, recorded with the changes it makes. @default "graphql" */
  readonly surface?: Surface;
}

/**
 * Runs one operation through the gateway's own pipeline (operation limits, query plan, signed
 * subgraph calls, metrics, logs), exactly as POST /graphql would; REST routes and subscription
 * payloads use it. Resolves with the formatted result, errors included; rejects only when the
 * pipeline itself fails.
 */
export type RunOperation = (request: OperationRequest, context: OperationCaller) => Promise<FormattedExecutionResult>;
