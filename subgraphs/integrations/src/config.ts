import type { Prisma } from "../../../generated/prisma/client.ts";
import { badInput } from "../../shared/errors.ts";

/** The bounds of a config: depth (objects and arrays) and length serialised as JSON. */
export const CONFIG_BOUNDS = { maxDepth: 32, maxLength: 16_000 } as const;

// What PostgreSQL's jsonb refuses (a 500 instead of a 422): NUL, and UTF-16 surrogates out of pairs.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a JSON value cannot be a config, or null. Walked with a stack, stopping past the depth
 * bound: recursion (or JSON.stringify first) would be at the mercy of a value nested thousands of
 * levels deep.
 */
function configProblem(value: unknown): string | null {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const entry = stack.pop() as { value: unknown; depth: number };
    if (typeof entry.value === "string" && UNSTORABLE.test(entry.value)) return "must not contain NUL characters or unpaired surrogates";
    if (entry.value === null || typeof entry.value !== "object") continue;
    if (entry.depth > CONFIG_BOUNDS.maxDepth) return `must not be nested more than ${CONFIG_BOUNDS.maxDepth} levels deep`;
    for (const [key, child] of Object.entries(entry.value)) {
      if (UNSTORABLE.test(key)) return "must not contain NUL characters or unpaired surrogates";
      stack.push({ value: child, depth: entry.depth + 1 });
    }
  }
  return null;
}

/** enableIntegration's `config`: a JSON object within CONFIG_BOUNDS that PostgreSQL can store. */
export function requireConfig(value: unknown): Prisma.InputJsonObject {
  if (value == null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw badInput("config must be a JSON object", "config");
  const problem = configProblem(value);
  if (problem) throw badInput(`config ${problem}`, "config");
  if (JSON.stringify(value).length > CONFIG_BOUNDS.maxLength) throw badInput(`config must be at most ${CONFIG_BOUNDS.maxLength} characters as JSON`, "config");
  return value as Prisma.InputJsonObject;
}
