import { Lexer, Source, TokenKind, type DocumentNode } from "graphql";
import { DEFAULT_PAGE_SIZE } from "../../../platform/input-rules.ts";
import type { ErrorCode } from "../../../platform/error-codes.ts";
import { measureOperation } from "./measure-operation.ts";

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  /** Page size assumed for a list or connection whose size argument is absent or null. */
  defaultListSize: number;
}

/**
 * Sized from what Sunday's own screens send (see test/limits.test.ts):
 * - depth 15: the deepest product query (org → members → user → boards → items → assignees) is 10
 *   levels with `nodes`, 13 written with `edges { node }`. Cost is the real guard against expensive
 *   nesting; depth bounds the query planner's recursion and the chain of sequential subgraph fetches.
 * - aliases 30: aliases are how one request does the work of many and slips past the per-request rate
 *   limit (30 `inviteMember`s, 30 guesses of an id); a dashboard aliasing a few boards needs far fewer.
 * - tokens 5,000: the operations in test/operations are 86 tokens each and the full introspection
 *   query GraphiQL sends is 183, so hand-written and generated documents have ample room; parse
 *   work and memory are linear in tokens, so this caps them.
 * - cost 50,000: a board view legitimately loads 1,000 items (the page maximum); at that size this
 *   leaves ~50 fields per item (the full board view in the tests, with group, creator, assignees,
 *   column values and their columns, subitems, is 33), while 1,000 boards × 1,000 items, 50 × 1,000
 *   of anything, or members × boards × items at the default page size of 50 each, is refused.
 * - defaultListSize: the subgraphs' own default page size, so an absent `first` costs what it loads.
 */
export const DEFAULT_OPERATION_LIMITS: Readonly<OperationLimits> = Object.freeze({
  maxDepth: 15,
  maxAliases: 30,
  maxTokens: 5000,
  maxCost: 50_000,
  defaultListSize: DEFAULT_PAGE_SIZE,
});

export type OperationLimitCode = Extract<ErrorCode, "DEPTH_LIMIT_EXCEEDED" | "ALIAS_LIMIT_EXCEEDED" | "COST_LIMIT_EXCEEDED" | "TOKEN_LIMIT_EXCEEDED">;

export type OperationCheck =
  | { ok: true; depth: number; aliases: number; cost: number }
  | { ok: false; code: OperationLimitCode; message: string; limit: number; actual: number };

/**
 * Counts lexical tokens the way graphql's parser does for `maxLexicalTokens` (comments and EOF
 * excluded), stopping at `max + 1`: the point is to refuse a huge document before paying to parse it.
 * A lexical error ends the count instead of throwing, so the parser can report it with its own message.
 */
export function countTokens(source: string, max: number): number {
  return measureSource(source, max).tokens;
}

/**
 * Brackets, braces and parentheses open at once. graphql-js parses them recursively, so a few
 * thousand of them (`[[[[…` in a literal, well under the token limit) overflow its stack; the
 * deepest document the operation limits allow nests far less than this.
 */
export const MAX_NESTING = 128;

/** Tokens (stopping at `max + 1`) and the deepest nesting of a source, from one lexer pass. */
export function measureSource(source: string, max: number): { tokens: number; nesting: number } {
  const lexer = new Lexer(new Source(source));
  let tokens = 0;
  let open = 0;
  let nesting = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF && tokens <= max && nesting <= MAX_NESTING; token = lexer.advance()) {
      tokens += 1;
      if (token.kind === TokenKind.BRACE_L || token.kind === TokenKind.BRACKET_L || token.kind === TokenKind.PAREN_L) nesting = Math.max(nesting, (open += 1));
      else if (token.kind === TokenKind.BRACE_R || token.kind === TokenKind.BRACKET_R || token.kind === TokenKind.PAREN_R) open -= 1;
    }
  } catch {
    // see countTokens: the parse that follows reports the syntax error
  }
  return { tokens, nesting };
}

/** Why a document's source must not be parsed at all, or null. */
export function refuseSource(
  source: string,
  maxTokens: number,
): { code: "TOKEN_LIMIT_EXCEEDED" | "NESTING_LIMIT_EXCEEDED"; message: string; limit: number; actual: number } | null {
  // Nothing nests deeper than half its length: short sources cannot exceed either limit.
  if (source.length <= Math.min(maxTokens, 2 * MAX_NESTING)) return null;
  const { tokens, nesting } = measureSource(source, maxTokens);
  if (tokens > maxTokens) return { code: "TOKEN_LIMIT_EXCEEDED", message: `The document has more than ${maxTokens} tokens`, limit: maxTokens, actual: tokens };
  if (nesting > MAX_NESTING)
    return { code: "NESTING_LIMIT_EXCEEDED", message: `The document nests brackets more than ${MAX_NESTING} deep`, limit: MAX_NESTING, actual: nesting };
  return null;
}

/**
 * Static checks before execution, in order of cost to compute: tokens, depth, aliases, cost; the
 * first limit exceeded is reported. The token check re-lexes the document's source when it carries
 * one (`parse` without `noLocation`) and is longer than `maxTokens` characters; to bound parse work
 * itself, call `countTokens` before parsing or give Apollo `parseOptions: { maxLexicalTokens }`.
 * Cost and depth are estimates from the document alone: see measure-operation.ts for what counts.
 * Linear in the document's size, fragments included, whatever their spreads.
 */
export function checkOperation(
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
  limits: OperationLimits,
): OperationCheck {
  const source = document.loc?.source.body;
  // Every token is at least one character long, so a source no longer than the limit needs no lexing:
  // the common case, and the case of a caller that counted before parsing and passes a huge maxTokens.
  if (source !== undefined && source.length > limits.maxTokens) {
    const tokens = countTokens(source, limits.maxTokens);
    if (tokens > limits.maxTokens) {
      return refuse("TOKEN_LIMIT_EXCEEDED", `The document has more than ${limits.maxTokens} tokens`, limits.maxTokens, tokens);
    }
  }
  const { depth, aliases, cost } = measureOperation(document, operationName, variables, limits.defaultListSize);
  if (depth > limits.maxDepth) {
    return refuse("DEPTH_LIMIT_EXCEEDED", `The operation is nested ${depth} levels deep; the limit is ${limits.maxDepth}`, limits.maxDepth, depth);
  }
  if (aliases > limits.maxAliases) {
    return refuse("ALIAS_LIMIT_EXCEEDED", `The operation uses ${aliases} aliases; the limit is ${limits.maxAliases}`, limits.maxAliases, aliases);
  }
  if (cost > limits.maxCost) {
    return refuse(
      "COST_LIMIT_EXCEEDED",
      `The operation's estimated cost is ${cost}; the limit is ${limits.maxCost}. Ask for smaller pages (first) or fewer fields`,
      limits.maxCost,
      cost,
    );
  }
  return { ok: true, depth, aliases, cost };
}

function refuse(code: OperationLimitCode, message: string, limit: number, actual: number): OperationCheck {
  return { ok: false, code, message, limit, actual };
}
