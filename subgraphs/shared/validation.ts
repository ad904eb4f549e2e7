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
import { jsonValueProblem, JSON_VALUE_BOUNDS, textProblem, UUID, type JsonValueBounds } from "../../platform/input-rules.ts";

export { ID_PATTERN, JSON_VALUE_BOUNDS, jsonValueProblem, textProblem, type JsonValueBounds, type JsonValueProblem } from "../../platform/input-rules.ts";

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

export function optionalText(value: string | null | undefined, field: string, options: Omit<TextOptions, "min">): string | null | undefined {
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
