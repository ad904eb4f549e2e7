// Query.search: candidates from the search projection, pre-filtered in SQL to the boards its facts
// say the caller may read, then every board and item of the page checked again with the items
// subgraph's never-stale access (board-access.ts, through the request's loaders), so that a share
// revoked, a board made private or an item deleted a moment ago cannot show while the projection
// catches up. A result dropped that way shortens the page; the cursors still follow the SQL order.
import type { ItemModel } from "../../../../generated/prisma/models.ts";
import { requireIdentity } from "../../../shared/authorization.ts";
import { encodeCursor, type Cursor } from "../../../shared/pagination.ts";
import type { ItemsContext } from "../context.ts";
import type { QuerySearchArgs, ResolversParentTypes, SearchResultType } from "../generated/resolvers.ts";
import { matchesNothing, parseSearchArgs } from "./input.ts";
import { candidates, headlines, searchReady, type Hit } from "./query.ts";
import { chooseSnippet } from "./snippet.ts";

type SearchConnection = ResolversParentTypes["SearchConnection"];
type SearchEdge = ResolversParentTypes["SearchEdge"];

const cursorOf = (hit: Hit): Cursor => ({ key: hit.score, id: hit.id });

const empty = (after: Cursor | null): SearchConnection => ({
  edges: [],
  nodes: [],
  pageInfo: { hasNextPage: false, hasPreviousPage: after !== null, startCursor: null, endCursor: null },
});

/** The page's hits the caller may read now, with their items (null for boards). */
async function readableNow(context: ItemsContext, hits: readonly Hit[]): Promise<{ hit: Hit; item: ItemModel | null }[]> {
  const itemIds = [...new Set(hits.flatMap((hit) => (hit.itemId ? [hit.itemId] : [])))];
  // Loading the items also answers their boards' access (the item loader primes the board loader).
  const items = new Map(itemIds.map((id, index) => [id, index]));
  const loadedItems = await context.loaders.item.loadMany(itemIds);
  const boards = [...new Set(hits.map((hit) => hit.boardId))];
  const loadedBoards = await context.loaders.board.loadMany(boards);
  const readable = new Set(
    boards.filter((_id, index) => {
      const facts = loadedBoards[index];
      return facts !== null && facts !== undefined && !(facts instanceof Error);
    }),
  );
  const kept: { hit: Hit; item: ItemModel | null }[] = [];
  for (const hit of hits) {
    if (!readable.has(hit.boardId)) continue;
    if (!hit.itemId) {
      kept.push({ hit, item: null });
      continue;
    }
    const item = loadedItems[items.get(hit.itemId) as number];
    // Deleted since (or moved off a readable board): the projection has not caught up yet.
    if (!item || item instanceof Error || item.boardId !== hit.boardId) continue;
    kept.push({ hit, item });
  }
  return kept;
}

export async function search(context: ItemsContext, args: QuerySearchArgs): Promise<SearchConnection> {
  const request = parseSearchArgs({ ...args, filter: args.filter ?? null });
  if (matchesNothing(request.filter) || !(await searchReady(context.prisma))) return empty(request.after);
  const hits = await candidates(context.prisma, requireIdentity(context.identity), request);
  const pageHits = hits.slice(0, request.size);
  // The snippets are made while the page's access is checked again (a round trip less); those of
  // hits the check drops are never used. The page was picked on this caller's reading facts already.
  const [kept, snippetRows] = await Promise.all([
    readableNow(context, pageHits),
    headlines(
      context.prisma,
      pageHits.map((hit) => hit.id),
      request.text,
    ),
  ]);
  const snippets = new Map(snippetRows.map((row) => [row.id, row]));
  const edges: SearchEdge[] = kept.map(({ hit, item }) => ({
    cursor: encodeCursor(cursorOf(hit)),
    node: {
      type: hit.type as SearchResultType,
      id: hit.id,
      score: hit.score,
      // The item's name as it is now (a comment has no title of its own).
      title: item ? item.name : hit.title,
      snippet: chooseSnippet(snippets.get(hit.id)),
      board: { id: hit.boardId },
      item,
      updatedAt: hit.updatedAt,
    },
  }));
  const last = pageHits.at(-1);
  return {
    edges,
    nodes: edges.map((edge) => edge.node),
    pageInfo: {
      hasNextPage: hits.length > request.size,
      hasPreviousPage: request.after !== null,
      startCursor: edges[0]?.cursor ?? null,
      // The last hit considered, kept or not: the next page starts after it.
      endCursor: last ? encodeCursor(cursorOf(last)) : null,
    },
  };
}

export const searchResolvers = {
  Query: {
    search: (_parent: unknown, args: QuerySearchArgs, context: ItemsContext) => search(context, args),
  },
};
