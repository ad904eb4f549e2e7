// The `search` arguments, checked (BAD_USER_INPUT naming the field) and turned into what the SQL
// needs: the query text, the word to match as a prefix, the words to compare for typos, the page
// and the filter.
import { badInput } from "../../../shared/errors.ts";
import { decodeCursor, type Cursor } from "../../../shared/pagination.ts";
import { requireIds, requireText } from "../../../shared/validation.ts";
import type { DocumentType } from "./fold.ts";

export const SEARCH_PAGE = { default: 20, maximum: 100 } as const;
/** Query text: as long as a REST `q` may be. */
const MAX_QUERY = 200;
/** A prefix shorter than this would expand to too many words to rank. */
const MIN_PREFIX = 3;

export interface SearchText {
  /** The query as typed (trimmed), for websearch_to_tsquery: "quoted phrases", or, -not. */
  readonly text: string;
  /**
   * The last word, when it is a plain word the user may still be typing, matched as a prefix too;
   * `head` is the text before it.
   */
  readonly prefix: { readonly head: string; readonly word: string } | null;
  /** The words to correct when full text finds little (lower case); none for a query with operators. */
  readonly fuzzy: readonly string[];
}

export interface SearchFilterInput {
  readonly boards: readonly string[] | null;
  readonly types: readonly DocumentType[] | null;
  readonly assignees: readonly string[] | null;
  readonly status: readonly string[] | null;
  readonly updatedAfter: Date | null;
}

export interface SearchRequest {
  readonly text: SearchText;
  readonly size: number;
  /** Results after this (score, id) in the order score descending, id ascending. */
  readonly after: Cursor | null;
  readonly filter: SearchFilterInput;
}

export interface SearchArgs {
  readonly query: string;
  readonly first?: number | null;
  readonly after?: string | null;
  readonly filter?: {
    readonly boards?: readonly string[] | null;
    readonly types?: readonly DocumentType[] | null;
    readonly assignees?: readonly string[] | null;
    readonly status?: readonly string[] | null;
    readonly updatedAfter?: Date | null;
  } | null;
}

const WORD = /^[\p{L}\p{N}]+$/u;

export function parseSearchText(raw: string): SearchText {
  const text = requireText(raw, "query", { max: MAX_QUERY });
  const tokens = text.split(/\s+/);
  const last = tokens.at(-1) ?? "";
  // Inside an open quote, after `or`, or negated, the last word is not one being typed.
  const openQuote = (text.match(/"/g)?.length ?? 0) % 2 === 1;
  const afterOr = tokens.at(-2)?.toLowerCase() === "or";
  const prefix =
    !openQuote && !afterOr && WORD.test(last) && last.length >= MIN_PREFIX && last.toLowerCase() !== "or"
      ? { head: tokens.slice(0, -1).join(" "), word: last.toLowerCase() }
      : null;
  // Typos are forgiven in plain words only: a phrase, `or` or `-word` asks for exactly that.
  const operators = text.includes('"') || tokens.some((token) => token.startsWith("-") || token.toLowerCase() === "or");
  const fuzzy = operators ? [] : [...new Set(text.toLowerCase().split(/[^\p{L}\p{N}]+/u))].filter((word) => word !== "");
  return { text, prefix, fuzzy };
}

function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return SEARCH_PAGE.default;
  if (!Number.isInteger(first) || first < 1 || first > SEARCH_PAGE.maximum) throw badInput(`first must be between 1 and ${SEARCH_PAGE.maximum}`, "first");
  return first;
}

function statuses(values: readonly string[]): string[] {
  if (values.length > 20) throw badInput("filter.status accepts at most 20 labels", "filter.status");
  return [...new Set(values.map((value) => requireText(value, "filter.status", { max: 200 })))];
}

export function parseSearchArgs(args: SearchArgs): SearchRequest {
  const text = parseSearchText(args.query);
  const size = pageSize(args.first);
  const after = args.after ? decodeCursor(args.after, "number") : null;
  const filter = args.filter ?? {};
  const updatedAfter = filter.updatedAfter ?? null;
  if (updatedAfter && Number.isNaN(updatedAfter.getTime())) throw badInput("filter.updatedAfter is not a valid instant", "filter.updatedAfter");
  return {
    text,
    size,
    after,
    filter: {
      boards: filter.boards ? requireIds(filter.boards, "filter.boards", 100) : null,
      types: filter.types ? [...new Set(filter.types)] : null,
      assignees: filter.assignees ? requireIds(filter.assignees, "filter.assignees", 50) : null,
      status: filter.status ? statuses(filter.status) : null,
      updatedAfter,
    },
  };
}

/** A filter that no document can match (an empty list given): answered without a query. */
export function matchesNothing(filter: SearchFilterInput): boolean {
  return [filter.boards, filter.types, filter.assignees, filter.status].some((list) => list !== null && list.length === 0);
}
