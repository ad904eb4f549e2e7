/**
 * What the REST request stages share. A stage either passes its typed output on (`ok: true`) or
 * stops the request with the problem that answers it, so rest-api.ts's `handle()` reads as the
 * list of stages, as Fastify names its request lifecycle.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FormattedExecutionResult } from "graphql";
import type { Caller } from "../../auth/authenticate.ts";
import type { RunOperation } from "../../execution/run-operation.ts";
import type { CompiledRoute } from "../compile.ts";
import type { CatalogOperation } from "../operations.ts";
import { problem, type Problem } from "../problem.ts";

/** A stage's early exit: the problem that answers the request. */
export interface Refused {
  readonly ok: false;
  readonly problem: Problem;
  /** Headers that belong to this refusal only (`Allow` of a 405). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A stage's outcome: its output `T` for the next stage, or a refusal. */
export type Stage<T> = ({ readonly ok: true } & T) | Refused;

export function refused(value: Problem, headers?: Readonly<Record<string, string>>): Refused {
  return headers ? { ok: false, problem: value, headers } : { ok: false, problem: value };
}

/** One request to the REST API, as the gateway hands it over. */
export interface Exchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  readonly correlationId: string;
}

/** A response being put together; sent at the end, or stored for idempotent replay first. */
export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Undefined for 204 and 304. */
  readonly body?: string;
}

/** Runs one of the catalog's operations for the admitted caller of this request. */
export type RunCatalogOperation = (operation: CatalogOperation, variables: Readonly<Record<string, unknown>>) => Promise<FormattedExecutionResult>;

export function operationRunner(runOperation: RunOperation, caller: Caller, correlationId: string): RunCatalogOperation {
  return (operation, variables) =>
    runOperation({ query: operation.query, operationName: operation.name, variables }, { caller, correlationId, surface: "rest" });
}

/** The value at a dotted path, or null when something on the way is missing. */
export function at(data: unknown, path: readonly string[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== "object") return null;
    value = (value as Record<string, unknown>)[key];
  }
  return value ?? null;
}

/** A header Node may hand over as a list (a repeated one): its first value. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** 404 for the resource a route's path names (validation, the current version and the operation all say it). */
export function notFound(route: CompiledRoute, params: Readonly<Record<string, string>>): Problem {
  const declared = route.definition.notFound;
  if (declared) return problem("NOT_FOUND", `${declared.type} ${params[declared.param] ?? ""} was not found`);
  const [name] = Object.keys(route.pathParameters);
  return problem("NOT_FOUND", name ? `${params[name]} was not found` : "Not found");
}
