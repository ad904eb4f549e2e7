/**
 * Input rules shared by every subgraph (and by the gateway's edge checks), so that one kind of
 * value is refused or accepted the same way wherever it arrives. Refusals are BAD_USER_INPUT
 * naming the field (REST answers them 422, or 400 for query parameters).
 *
 * Text. PostgreSQL cannot store U+0000, and an unpaired UTF-16 surrogate is not text at all (it
 * has no UTF-8 encoding); neither is ever normalised away silently, both are refused everywhere.
 * - Names and other single-line text (board, group, item, subitem, workspace and column names,
 *   titles, emails, URLs, `search` arguments): no C0 or C1 control characters (U+0000-U+001F,
 *   U+007F-U+009F: no tabs or line breaks either) and no bidirectional embedding, override or
 *   isolate characters (U+202A-U+202E, U+2066-U+2069), which make a name display as something
 *   else than it is. Leading and trailing white space is trimmed.
 * - Multi-line text (descriptions, comment bodies, TEXT column values): no C0 control characters
 *   except TAB, LF and CR. Bidi characters are allowed here: right-to-left writing uses them.
 * - Strings inside free-form JSON values (column values, settings, configs): no U+0000 (jsonb
 *   refuses it) and no unpaired surrogates.
 *
 * Free-form JSON values (the JSON scalar): at most 32 levels of nesting and 16,000 characters
 * serialised, finite numbers only (JSON has no Infinity: a value that cannot survive a round trip
 * through JSON would silently become null). Checked without recursion, so a value nested a million
 * deep costs a loop that stops at level 33, not a stack overflow.
 */
import { GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { JSONResolver } from "graphql-scalars";
import { badInput } from "./errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The id format of this API (RFC 9562 versions 1-8, RFC variant): the nil UUID is not an id. */
export const ID_PATTERN = UUID;

/** Ids are UUIDs; anything else is refused before it reaches SQL. */
export function requireId(value: string, field: string): string {
  if (!UUID.test(value)) throw badInput(`${field} is not a valid id`, field);
  return value.toLowerCase();
}

export function isId(value: string): boolean {
  return UUID.test(value);
}

export function requireIds(values: readonly string[], field: string, max = 100): string[] {
  if (values.length > max) throw badInput(`${field} accepts at most ${max} ids`, field);
  return [...new Set(values.map((value) => requireId(value, field)))];
}

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

export interface TextOptions {
  readonly max: number;
  /** @default 1 */
  readonly min?: number;
  /** Descriptions and bodies: line breaks and tabs allowed (see the rules above). @default false */
  readonly multiline?: boolean;
}

/** Trims and bounds a user-supplied string; the limits mirror the column sizes in schema.prisma. */
export function requireText(value: string, field: string, options: TextOptions): string {
  const problem = textProblem(value, options.multiline ? "multi-line" : "single-line");
  if (problem) throw badInput(`${field} ${problem}`, field);
  const text = value.trim();
  const min = options.min ?? 1;
  if (text.length < min) throw badInput(`${field} must not be empty`, field);
  if (text.length > options.max) throw badInput(`${field} must be at most ${options.max} characters`, field);
  return text;
}

export function optionalText(
  value: string | null | undefined,
  field: string,
  options: Omit<TextOptions, "min">,
): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  return requireText(value, field, { ...options, min: 0 });
}

/** A `search` argument: single-line text of at most 200 characters, or undefined when blank/absent. */
export function optionalSearch(value: string | null | undefined, field: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = requireText(value, field, { max: 200, min: 0 });
  return text === "" ? undefined : text;
}

/**
 * `search` with the LIKE wildcards `%` and `_` and the escape character `\` (PostgreSQL's default)
 * escaped, so that they match only themselves. Prisma's `contains` puts its value between `%`
 * without escaping it (test/bad-values.test.ts checks that it still does): give it this.
 */
export function likeEscaped(search: string): string {
  return search.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** `search` as a LIKE/ILIKE pattern matching it anywhere, and only it. */
export function likeContains(search: string): string {
  return `%${likeEscaped(search)}%`;
}

export function requireVersion(value: number, field = "expectedVersion"): number {
  if (!Number.isInteger(value) || value < 1) throw badInput(`${field} must be a positive integer`, field);
  return value;
}

/** Float arguments written as literals (`1e400`) arrive as Infinity: refuse what JSON cannot carry. */
export function requireFinite(value: number, field: string): number {
  if (!Number.isFinite(value)) throw badInput(`${field} must be a finite number`, field);
  return value;
}

/** Only for mutations that do not need an input field at all: rejects explicit null. */
export function present<T>(value: T | null | undefined, field: string): T | undefined {
  if (value === null) throw badInput(`${field} cannot be null`, field);
  return value;
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
        for (let index = current.length - 1; index >= 0; index -= 1) stack.push({ value: current[index], depth: entry.depth + 1, path: [...entry.path, index] });
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

/** Refuses a JSON value that breaks the rules above, naming the field (and where inside it). */
export function requireJsonValue<T>(value: T, field: string, bounds: JsonValueBounds = JSON_VALUE_BOUNDS): T {
  const problem = jsonValueProblem(value, bounds);
  if (problem) throw badInput(`${[field, ...problem.path].join(".")} ${problem.message}`, field);
  return value;
}

/**
 * A literal's JSON value (graphql-scalars' JSON scalar, with its variables), refusing nesting past
 * the bound on the way down: graphql-js would otherwise recurse once per level of the literal.
 */
function literalValue(node: ValueNode, variables: Readonly<Record<string, unknown>> | null | undefined, depth: number): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return parseFloat(node.value);
    case Kind.NULL:
      return null;
    case Kind.VARIABLE:
      return variables ? variables[node.name.value] : undefined;
    case Kind.LIST:
    case Kind.OBJECT:
      if (depth >= JSON_VALUE_BOUNDS.maxDepth) throw badInput(`A JSON value must not be nested more than ${JSON_VALUE_BOUNDS.maxDepth} levels deep`);
      if (node.kind === Kind.LIST) return node.values.map((item) => literalValue(item, variables, depth + 1));
      return Object.fromEntries(node.fields.map((field) => [field.name.value, literalValue(field.value, variables, depth + 1)]));
  }
}

function checked(value: unknown): unknown {
  const problem = jsonValueProblem(value);
  if (problem) throw badInput(`A JSON value${problem.path.length > 0 ? ` at ${problem.path.join(".")}` : ""} ${problem.message}`);
  return value;
}

/**
 * The JSON scalar of every subgraph: graphql-scalars' JSON, with the bounds above applied to every
 * input value (defence in depth: the gateway checks the same at the edge).
 */
export const BoundedJSON = new GraphQLScalarType({
  ...JSONResolver.toConfig(),
  parseValue: (value) => checked(value),
  parseLiteral: (node, variables) => checked(literalValue(node, variables, 0)),
});
