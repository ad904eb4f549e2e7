import { badInput } from "./errors.ts";

/** Lists never return more than this many rows per page, whatever `first` asks for. */
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 50;

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

export function decodeCursor(value: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [key, id] = parsed as unknown[];
      if ((typeof key === "string" || typeof key === "number") && typeof id === "string") return { key, id };
    }
  } catch {
    // fall through to the uniform error below
  }
  throw badInput("after is not a valid cursor", "after");
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

export function pageRequest(args: PageArgs): PageRequest {
  return { size: pageSize(args.first), after: args.after ? decodeCursor(args.after) : null };
}

/** Builds a Relay connection from `size + 1` fetched rows. */
export function toConnection<T>(
  rows: readonly T[],
  request: PageRequest,
  cursorOf: (row: T) => Cursor,
): Connection<T> {
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

/** Dates travel in cursors as ISO strings. */
export const dateKey = (key: string | number): Date => {
  const date = new Date(key);
  if (typeof key !== "string" || Number.isNaN(date.getTime())) throw badInput("after is not a valid cursor", "after");
  return date;
};
