/** Stage 2, match: the route for the path and method; 404 without one, 405 with Allow for another method. */
import { allowedMethods } from "../../http/head.ts";
import type { CompiledRoute } from "../compile.ts";
import { problem } from "../problem.ts";
import { refused, type Stage } from "./stage.ts";

export interface Matched {
  readonly route: CompiledRoute;
  /** Path parameters as they are in the path (not yet validated). */
  readonly params: Readonly<Record<string, string>>;
}

export function match(routes: readonly CompiledRoute[], method: string | undefined, path: string, version: string): Stage<Matched> {
  const matches: Matched[] = [];
  for (const route of routes) {
    const params = route.match(path);
    if (params !== null) matches.push({ route, params });
  }
  if (matches.length === 0) return refused(problem("NOT_FOUND", `No route ${path} in ${version}`));
  const matched = matches.find((entry) => entry.route.method === method);
  if (!matched) {
    const allow = allowedMethods(matches.map((entry) => entry.route.method)).join(", ");
    return refused(problem("METHOD_NOT_ALLOWED", `${method} is not allowed on ${path}`), { allow });
  }
  return { ok: true, ...matched };
}
