import type { GraphQLError } from "graphql";
import { badInput } from "./errors.ts";
import { isId } from "./validation.ts";

import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../platform/input-rules.ts";

export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE };

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** Position of a row in a keyset order: the sort value and the id that breaks ties. */
export interface Cursor {
  readonly key: string | number;
  readonly id: string;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.key, cursor.id])).toString("base64url");
}

/**
 * What the sort value of a list's cursors is: `date` (an ISO 8601 instant, as toISOString writes
 * it) or `number` (a finite float, e.g. a position). Checked on decoding, so a forged cursor is
 * refused as one, never handed to SQL as a value of the wrong type.
 */
export type CursorKey = "date" | "number";

/** The instants toISOString writes (years 0000-9999); `Date.parse` alone accepts far more. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function invalidCursor(message = "after is not a valid cursor"): GraphQLError {
  // BAD_USER_INPUT on `after` (REST answers 400 on `cursor`), with the reason subscriptions use.
  const error = badInput(message, "after");
  error.extensions.reason = "CURSOR_INVALID";
  return error;
}

function validKey(key: unknown, kind: CursorKey | undefined): key is string | number {
  if (typeof key === "number") return Number.isFinite(key) && (kind === undefined || kind === "number");
  if (typeof key !== "string" || (kind !== undefined && kind !== "date")) return false;
  if (kind === undefined) return key.length <= 64;
  return ISO_INSTANT.test(key) && !Number.isNaN(Date.parse(key)) && new Date(key).toISOString() === key;
}

/** Decodes and checks a cursor: a [key, id] pair with a key of `kind` and a UUID id. */
export function decodeCursor(value: string, kind?: CursorKey): Cursor {
  let parsed: unknown;
  try {
    parsed = value.length <= 1000 ? JSON.parse(Buffer.from(value, "base64url").toString("utf8")) : undefined;
  } catch {
    // fall through to the uniform error below
  }
  if (Array.isArray(parsed) && parsed.length === 2) {
    const [key, id] = parsed as unknown[];
    if (typeof id === "string" && isId(id)) {
      if (validKey(key, kind)) return { key, id: id.toLowerCase() };
      // A well-formed cursor of the same list under another ordering says so.
      if (kind !== undefined && validKey(key, kind === "date" ? "number" : "date")) throw invalidCursor("after is a cursor of another ordering");
    }
  }
  throw invalidCursor();
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0) throw badInput("first must be a non-negative integer", "first");
  if (first > MAX_PAGE_SIZE) throw badInput(`first must be at most ${MAX_PAGE_SIZE}`, "first");
  return first;
}

/** Parsed page request: how many rows to fetch (one more than asked, to learn hasNextPage). */
export interface PageRequest {
  readonly size: number;
  readonly after: Cursor | null;
}

/** `key`: the kind of sort value this list's cursors carry (see CursorKey); every list should say. */
export function pageRequest(args: PageArgs, key?: CursorKey): PageRequest {
  return { size: pageSize(args.first), after: args.after ? decodeCursor(args.after, key) : null };
}

/** Builds a Relay connection from `size + 1` fetched rows. */
export function toConnection<T>(rows: readonly T[], request: PageRequest, cursorOf: (row: T) => Cursor): Connection<T> {
  const nodes = rows.slice(0, request.size);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return {
    edges,
    nodes,
    pageInfo: {
      hasNextPage: rows.length > request.size,
      hasPreviousPage: request.after !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** A stable key for DataLoader batches: list requests with equal arguments share one query. */
export function argsKey(args: unknown): string {
  return JSON.stringify(args, (_key, value: unknown) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}

/**
 * The Prisma `where` fragment for "rows after this cursor" in a (field, id) keyset order.
 * `W` is the model's WhereInput; the fragment only names `field` and `id`.
 */
export function keysetAfter<W>(
  field: string,
  direction: "asc" | "desc",
  after: Cursor | null,
  decodeKey: (key: string | number) => unknown = (key) => key,
): W[] {
  if (!after) return [];
  const op = direction === "asc" ? "gt" : "lt";
  const key = decodeKey(after.key);
  return [{ OR: [{ [field]: { [op]: key } }, { [field]: key, id: { [op]: after.id } }] } as W];
}

/** Dates travel in cursors as ISO strings (checked when the cursor was decoded as a `date` one). */
export const dateKey = (key: string | number): Date => {
  if (typeof key !== "string" || !validKey(key, "date")) throw invalidCursor();
  return new Date(key);
};
