/**
 * The input rules that the gateway's edge and every subgraph apply alike (ids, text, free-form JSON
 * values), as pure functions: `subgraphs/shared/validation.ts` turns them into BAD_USER_INPUT, the
 * gateway into its own refusals. The rules themselves are written down there.
 */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The id format of this API (RFC 9562 versions 1-8, RFC variant): the nil UUID is not an id. */
export const ID_PATTERN = UUID;

/** Lists never return more than MAX_PAGE_SIZE rows per page, whatever `first` asks for; DEFAULT_PAGE_SIZE without `first`. */
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 50;

// Lone surrogates: a high one not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SINGLE_LINE_FORBIDDEN = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
const MULTI_LINE_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
const JSON_STRING_FORBIDDEN = /\u0000/;

/** Why a string breaks the text rules above, or null when it keeps them. */
export function textProblem(value: string, kind: "single-line" | "multi-line" | "json"): string | null {
  if (LONE_SURROGATE.test(value)) return "contains an unpaired UTF-16 surrogate";
  const forbidden = kind === "single-line" ? SINGLE_LINE_FORBIDDEN : kind === "multi-line" ? MULTI_LINE_FORBIDDEN : JSON_STRING_FORBIDDEN;
  const found = forbidden.exec(value);
  if (found) return `contains the character U+${(found[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}, which is not allowed here`;
  return null;
}

export interface JsonValueBounds {
  /** Levels of arrays and objects. */
  readonly maxDepth: number;
  /** Characters of the value serialised as JSON (UTF-16 code units, as `JSON.stringify(v).length`). */
  readonly maxLength: number;
}

/** The bounds of every free-form JSON value of the API (column values, settings, configs). */
export const JSON_VALUE_BOUNDS: JsonValueBounds = { maxDepth: 32, maxLength: 16_000 };

/** A problem of a JSON value: what is wrong and where (a path of keys and indexes below the value). */
export interface JsonValueProblem {
  readonly message: string;
  readonly path: readonly (string | number)[];
}

/**
 * Why a JSON value breaks the rules above, or null. Iterative, and it stops at the first problem,
 * so its cost is bounded by the limits, not by the value's size or depth.
 */
export function jsonValueProblem(value: unknown, bounds: JsonValueBounds = JSON_VALUE_BOUNDS): JsonValueProblem | null {
  const stack: { value: unknown; depth: number; path: (string | number)[] }[] = [{ value, depth: 0, path: [] }];
  let length = 0;
  const tooLong = (path: (string | number)[]): JsonValueProblem => ({ message: `must be at most ${bounds.maxLength} characters as JSON`, path });
  while (stack.length > 0) {
    const entry = stack.pop() as { value: unknown; depth: number; path: (string | number)[] };
    const current = entry.value;
    if (current === null || typeof current === "boolean") {
      length += 5;
    } else if (typeof current === "number") {
      if (!Number.isFinite(current)) return { message: "must contain only finite numbers", path: entry.path };
      length += String(current).length;
    } else if (typeof current === "string") {
      const problem = textProblem(current, "json");
      if (problem) return { message: problem, path: entry.path };
      length += current.length + 2;
    } else if (typeof current === "object") {
      if (entry.depth >= bounds.maxDepth) return { message: `must not be nested more than ${bounds.maxDepth} levels deep`, path: entry.path };
      if (Array.isArray(current)) {
        length += 1 + current.length;
        if (length > bounds.maxLength) return tooLong(entry.path);
        for (let index = current.length - 1; index >= 0; index -= 1)
          stack.push({ value: current[index], depth: entry.depth + 1, path: [...entry.path, index] });
      } else {
        const keys = Object.keys(current);
        length += 1 + keys.length;
        if (length > bounds.maxLength) return tooLong(entry.path);
        for (let index = keys.length - 1; index >= 0; index -= 1) {
          const key = keys[index] as string;
          const problem = textProblem(key, "json");
          if (problem) return { message: `has a key that ${problem}`, path: entry.path };
          length += key.length + 3;
          stack.push({ value: (current as Record<string, unknown>)[key], depth: entry.depth + 1, path: [...entry.path, key] });
        }
      }
    } else {
      return { message: "is not a JSON value", path: entry.path };
    }
    if (length > bounds.maxLength) return tooLong(entry.path);
  }
  return null;
}
