/**
 * Where events live in Redis: the organisation's and the board's streams, the channels that
 * announce appends, the item cache, and how long the streams keep events. The bridge writes these
 * names, the gateway reads them, the in-memory store imitates them.
 */

/** How long streams keep events for resuming subscribers (a cursor older than this is CURSOR_EXPIRED). */
export const STREAM_RETENTION_MS = 24 * 3600_000;

export const streamKeys = {
  org: (organizationId: string) => `org:${organizationId}:events`,
  board: (boardId: string) => `board:${boardId}:events`,
  orgWake: (organizationId: string) => `org:${organizationId}:wake`,
  boardWake: (boardId: string) => `board:${boardId}:wake`,
  itemCache: (itemId: string) => `item:${itemId}:data`,
} as const;

/** A stream and the pub/sub channel that announces its appends. */
export interface StreamRef {
  readonly key: string;
  readonly wake: string;
}

/**
 * Where an organisation's and a board's events live. `prefix` namespaces every key and channel,
 * so that several pipelines (test files) can share one Redis; production uses none.
 */
export function streamsOf(prefix = ""): { org(id: string): StreamRef; board(id: string): StreamRef } {
  return {
    org: (id) => ({ key: prefix + streamKeys.org(id), wake: prefix + streamKeys.orgWake(id) }),
    board: (id) => ({ key: prefix + streamKeys.board(id), wake: prefix + streamKeys.boardWake(id) }),
  };
}
