/**
 * Where events live in Redis: the organisation's and the board's streams, the channels that
 * announce appends, the bridge's seen-markers, and how long the streams keep events. The bridge
 * writes these names, the gateway reads them, the in-memory store imitates them.
 *
 * Every name carries its organisation's hash tag, `{org:<id>}`: on a Redis Cluster all of one
 * organisation's keys live in one slot, so the bridge's append (one script over the seen-marker and
 * both streams) stays atomic there. The price: one organisation's event traffic is served by one
 * master. A hot organisation is bounded by what one Redis node appends (tens of thousands of events
 * a second), not by the cluster's size; clusters spread organisations, never one organisation.
 */

/** How long streams keep events for resuming subscribers (a cursor older than this is CURSOR_EXPIRED). */
export const STREAM_RETENTION_MS = 24 * 3600_000;

const tag = (organizationId: string) => `{org:${organizationId}}`;

export const streamKeys = {
  org: (organizationId: string) => `${tag(organizationId)}:events`,
  board: (organizationId: string, boardId: string) => `${tag(organizationId)}:board:${boardId}:events`,
  orgWake: (organizationId: string) => `${tag(organizationId)}:wake`,
  boardWake: (organizationId: string, boardId: string) => `${tag(organizationId)}:board:${boardId}:wake`,
  /** The bridge's "appended already" marker of one event, for one consumer group. */
  seen: (organizationId: string, consumerGroup: string, eventId: string) => `${tag(organizationId)}:seen:${consumerGroup}:${eventId}`,
} as const;

/** A stream and the pub/sub channel that announces its appends. */
export interface StreamRef {
  readonly key: string;
  readonly wake: string;
}

export interface Streams {
  org(organizationId: string): StreamRef;
  board(organizationId: string, boardId: string): StreamRef;
}

/**
 * Where an organisation's and a board's events live. `prefix` namespaces every key and channel,
 * so that several pipelines (test files) can share one Redis; production uses none. It must not
 * hold a `{`: Redis Cluster hashes the first `{…}` of a key.
 */
export function streamsOf(prefix = ""): Streams {
  if (prefix.includes("{")) throw new Error(`a Redis key prefix must not contain "{" (it would become the hash tag): ${prefix}`);
  return {
    org: (organizationId) => ({ key: prefix + streamKeys.org(organizationId), wake: prefix + streamKeys.orgWake(organizationId) }),
    board: (organizationId, boardId) => ({
      key: prefix + streamKeys.board(organizationId, boardId),
      wake: prefix + streamKeys.boardWake(organizationId, boardId),
    }),
  };
}
