/**
 * Stage 6, precondition: the resource a write names must be there for the caller (routes that
 * declare `exists`: 404 otherwise), and the version a write is based on. If-Match when sent (412
 * when it can never match a version ETag); else, for routes that declare it, the current version
 * read first (the v1 API never required If-Match). Other routes pass through untouched.
 */
import type { CompiledRoute } from "../compile.ts";
import { parseIfMatch } from "../conditional.ts";
import { problem, problemFromGraphQLErrors } from "../problem.ts";
import type { RouteInput } from "../route.ts";
import { at, notFound, refused, type RunCatalogOperation, type Stage } from "./stage.ts";
import type { ValidInput } from "./validate.ts";

export interface Preconditioned {
  readonly input: RouteInput;
  /** The expected version came from If-Match: a CONFLICT is then a failed precondition (412). */
  readonly ifMatch: boolean;
}

export async function precondition(
  route: CompiledRoute,
  valid: ValidInput,
  ifMatchHeader: string | undefined,
  run: RunCatalogOperation,
): Promise<Stage<Preconditioned>> {
  const based = (expectedVersion: number | undefined, ifMatch: boolean): Stage<Preconditioned> => ({ ok: true, input: { ...valid, expectedVersion }, ifMatch });
  if (route.exists) {
    const result = await run(route.exists.operation, { id: valid.params.id });
    if (result.errors?.length) return refused(problemFromGraphQLErrors(result.errors, { ifMatch: false }));
    if (at(result.data, route.exists.select) === null) return refused(notFound(route, valid.params));
  }
  if (!route.definition.concurrency) return based(undefined, false);
  const ifMatch = parseIfMatch(ifMatchHeader);
  if (ifMatch.kind === "unmatchable")
    return refused(problem("PRECONDITION_FAILED", "If-Match must be the resource's ETag (a quoted version, as in ETag responses)"));
  if (ifMatch.kind === "version") return based(ifMatch.version, true);
  if (!route.current) return based(undefined, false);
  const result = await run(route.current.operation, { id: valid.params.id });
  if (result.errors?.length) return refused(problemFromGraphQLErrors(result.errors, { ifMatch: false }));
  const version = at(result.data, [...route.current.select, "version"]);
  if (typeof version !== "number") {
    // `If-Match: *` on a missing resource is a failed precondition (RFC 9110 §13.1.1).
    if (ifMatch.kind === "any") return refused(problem("PRECONDITION_FAILED", "The resource does not exist"));
    return refused(notFound(route, valid.params));
  }
  return based(version, false);
}
