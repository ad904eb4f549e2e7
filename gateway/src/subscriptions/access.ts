import { LRUCache } from "lru-cache";
import type { Caller } from "../auth/authenticate.ts";
import type { RunOperation } from "../execution/run-operation.ts";
import type { Identity } from "../../../platform/identity.ts";
import { askSubgraph } from "../federation/internal-query.ts";
import { KeyIndex } from "./key-index.ts";

const ITEM_QUERY = "query SubscriptionItemBoard($id: ID!) { item(id: $id) { id board { id } } }";

/**
 * Whether each identity may read a board, answered by the projects subgraph (the owner of the
 * reading rule) for all of them at once: see `boardReadersOf`.
 */
export type BoardReaders = (boardId: string, readers: readonly Identity[], correlationId: string) => Promise<readonly boolean[]>;

interface Entry {
  readonly boardId: string;
  readonly organizationId: string;
  /** Shared by every question about this caller and board until it expires: one in flight at a time. */
  readonly readable: Promise<boolean>;
}

interface Waiting {
  readonly identity: Identity;
  readonly answer: Promise<boolean>;
  resolve(readable: boolean): void;
  reject(error: unknown): void;
}

interface Pending {
  readonly callers: Map<string, Waiting>;
  readonly correlationId: string;
}

/**
 * Whether a caller may read a board, asked of the projects subgraph and remembered per caller and
 * board. The questions about one board asked in one turn of the event loop (every subscriber of an
 * event, a burst of subscribes) go in one request, so 10,000 subscribers of a board cost one
 * request, not 10,000, when their answers expire. Answers are dropped when an event changes the
 * board's readers or the organisation's members, and after `ttlMs` (counted from the question) at
 * the latest. At most `maxEntries` answers are kept, the least recently used going first.
 *
 * The answers are an lru-cache holding the answer's promise (set when asked, so the TTL starts then
 * and concurrent questions share it) rather than one with a `fetchMethod`, whose TTL would start
 * at the answer and which cannot batch the questions of one turn into one request.
 */
export class BoardAccess {
  /** Keyed by `entryKey(boardId, principal)`. */
  private readonly entries: LRUCache<string, Entry>;
  /** The keys of each board's answers, so `forgetBoard` needs no scan. */
  private readonly keysOfBoard = new KeyIndex();
  private readonly pending = new Map<string, Pending>();

  private readonly run: RunOperation;
  private readonly readers: BoardReaders;
  private readonly batchSize: number;

  constructor(
    run: RunOperation,
    readers: BoardReaders,
    /** The longest a stale answer can live if an invalidating event were lost. @default 30_000 */
    ttlMs = 30_000,
    /** Readers per request to the projects subgraph (its own bound is 2,000). @default 2_000 */
    batchSize = 2_000,
    /** Answers (caller and board pairs) kept at most. @default 100_000 */
    maxEntries = 100_000,
  ) {
    if (!(ttlMs >= 1)) throw new RangeError(`BoardAccess ttlMs must be at least 1, got ${ttlMs}`);
    this.run = run;
    this.readers = readers;
    this.batchSize = batchSize;
    this.entries = new LRUCache<string, Entry>({
      max: maxEntries,
      ttl: ttlMs,
      // Overwriting an entry keeps its key; every other way out (evicted, expired, deleted) drops it.
      dispose: (entry, key, reason) => {
        if (reason !== "set") this.keysOfBoard.remove(entry.boardId, key);
      },
    });
  }

  canRead(caller: Caller, boardId: string, correlationId: string): Promise<boolean> {
    const key = entryKey(boardId, caller.principal);
    const cached = this.entries.get(key);
    if (cached) return cached.readable;
    const readable = this.ask(boardId, caller, correlationId).catch((error: unknown) => {
      // No answer is not kept: the next event asks again.
      this.entries.delete(key);
      throw error;
    });
    this.entries.set(key, { boardId, organizationId: caller.identity.organizationId, readable });
    this.keysOfBoard.add(boardId, key);
    return readable;
  }

  private ask(boardId: string, caller: Caller, correlationId: string): Promise<boolean> {
    let batch = this.pending.get(boardId);
    if (!batch) {
      this.pending.set(boardId, (batch = { callers: new Map(), correlationId }));
      setImmediate(() => void this.flush(boardId));
    }
    // One question per principal and board per batch: one asked again before the batch leaves (its
    // answer forgotten or evicted meanwhile) shares the waiting answer rather than orphaning it.
    const waiting = batch.callers.get(caller.principal);
    if (waiting) return waiting.answer;
    const { promise: answer, resolve, reject } = Promise.withResolvers<boolean>();
    batch.callers.set(caller.principal, { identity: caller.identity, answer, resolve, reject });
    return answer;
  }

  private async flush(boardId: string): Promise<void> {
    const batch = this.pending.get(boardId);
    this.pending.delete(boardId);
    if (!batch) return;
    const waiting = [...batch.callers.values()];
    for (let start = 0; start < waiting.length; start += this.batchSize) {
      const slice = waiting.slice(start, start + this.batchSize);
      try {
        const answers = await this.readers(
          boardId,
          slice.map((entry) => entry.identity),
          batch.correlationId,
        );
        for (const [index, entry] of slice.entries()) entry.resolve(answers[index] === true);
      } catch (error) {
        for (const entry of slice) entry.reject(error);
      }
    }
  }

  /** The board an item is on, when the caller may read the item; null otherwise. */
  async boardOfItem(caller: Caller, itemId: string, correlationId: string): Promise<string | null> {
    const result = await this.run({ query: ITEM_QUERY, variables: { id: itemId } }, { caller, correlationId });
    return (result.data as { item?: { board?: { id: string } } | null } | null | undefined)?.item?.board?.id ?? null;
  }

  forgetBoard(boardId: string): void {
    for (const key of this.keysOfBoard.keys(boardId)) this.entries.delete(key);
  }

  /** A scan of every answer: membership changes are rare next to events. */
  forgetOrganization(organizationId: string): void {
    const keys: string[] = [];
    for (const [key, entry] of this.entries.entries()) if (entry.organizationId === organizationId) keys.push(key);
    for (const key of keys) this.entries.delete(key);
  }
}

/**
 * The principal first: it is ours (`user:<id>`, `apikey:<id>`) and holds no NUL, so the first NUL
 * splits the pair whatever a client sends as a board id.
 */
function entryKey(boardId: string, principal: string): string {
  return `${principal}\u0000${boardId}`;
}

const READERS_QUERY = "query BoardReaders($boardId: ID!, $readers: [BoardReaderInput!]!) { _boardReaders(boardId: $boardId, readers: $readers) }";

/** `BoardReaders` over the projects subgraph's `_boardReaders`, asked by the gateway as itself. */
export function boardReadersOf(options: { readonly projectsUrl: () => string | undefined; readonly signingSecret: string }): BoardReaders {
  return async (boardId, readers, correlationId) => {
    const data = await askSubgraph<{ _boardReaders: boolean[] }>(options.projectsUrl(), options.signingSecret, {
      query: READERS_QUERY,
      variables: { boardId, readers: readers.map(({ userId, organizationId, role }) => ({ userId, organizationId, role })) },
      correlationId,
    });
    if (data._boardReaders.length !== readers.length) throw new Error("projects answered for another number of readers");
    return data._boardReaders;
  };
}
