import type { Caller } from "../auth/authenticate.ts";
import type { RunOperation } from "../execution/run-operation.ts";
import type { Identity } from "../../../platform/identity.ts";
import { askSubgraph } from "../federation/internal-query.ts";

const ITEM_QUERY = "query SubscriptionItemBoard($id: ID!) { item(id: $id) { id board { id } } }";

/**
 * Whether each identity may read a board, answered by the projects subgraph (the owner of the
 * reading rule) for all of them at once: see `boardReadersOf`.
 */
export type BoardReaders = (boardId: string, readers: readonly Identity[], correlationId: string) => Promise<readonly boolean[]>;

interface Entry {
  readonly organizationId: string;
  readonly readable: Promise<boolean>;
  readonly expires: number;
}

interface Pending {
  readonly callers: Map<string, { identity: Identity; resolve(readable: boolean): void; reject(error: unknown): void }>;
  readonly correlationId: string;
}

/**
 * Whether a caller may read a board, asked of the projects subgraph and remembered per caller and
 * board. The questions about one board asked in one turn of the event loop (every subscriber of an
 * event, a burst of subscribes) go in one request, so 10,000 subscribers of a board cost one
 * request, not 10,000, when their answers expire. Answers are dropped when an event changes the
 * board's readers or the organisation's members, and after `ttlMs` at the latest.
 */
export class BoardAccess {
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly pending = new Map<string, Pending>();

  private readonly run: RunOperation;
  private readonly readers: BoardReaders;
  private readonly ttlMs: number;
  private readonly batchSize: number;

  constructor(
    run: RunOperation,
    readers: BoardReaders,
    /** The longest a stale answer can live if an invalidating event were lost. @default 30_000 */
    ttlMs = 30_000,
    /** Readers per request to the projects subgraph (its own bound is 2,000). @default 2_000 */
    batchSize = 2_000,
  ) {
    this.run = run;
    this.readers = readers;
    this.ttlMs = ttlMs;
    this.batchSize = batchSize;
  }

  canRead(caller: Caller, boardId: string, correlationId: string): Promise<boolean> {
    let byCaller = this.entries.get(boardId);
    if (!byCaller) this.entries.set(boardId, (byCaller = new Map()));
    const cached = byCaller.get(caller.principal);
    if (cached && cached.expires > Date.now()) return cached.readable;
    const readable = this.ask(boardId, caller, correlationId).catch((error: unknown) => {
      // No answer is not kept: the next event asks again.
      byCaller.delete(caller.principal);
      throw error;
    });
    byCaller.set(caller.principal, { organizationId: caller.identity.organizationId, readable, expires: Date.now() + this.ttlMs });
    return readable;
  }

  private ask(boardId: string, caller: Caller, correlationId: string): Promise<boolean> {
    let batch = this.pending.get(boardId);
    if (!batch) {
      this.pending.set(boardId, (batch = { callers: new Map(), correlationId }));
      setImmediate(() => void this.flush(boardId));
    }
    // One question per principal and board is in flight at a time: canRead keeps its promise.
    return new Promise((resolve, reject) => batch.callers.set(caller.principal, { identity: caller.identity, resolve, reject }));
  }

  private async flush(boardId: string): Promise<void> {
    const batch = this.pending.get(boardId);
    this.pending.delete(boardId);
    if (!batch) return;
    const waiting = [...batch.callers.values()];
    for (let start = 0; start < waiting.length; start += this.batchSize) {
      const slice = waiting.slice(start, start + this.batchSize);
      try {
        const answers = await this.readers(boardId, slice.map((entry) => entry.identity), batch.correlationId);
        slice.forEach((entry, index) => entry.resolve(answers[index] === true));
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
    this.entries.delete(boardId);
  }

  forgetOrganization(organizationId: string): void {
    for (const [boardId, byCaller] of this.entries) {
      for (const [principal, entry] of byCaller) if (entry.organizationId === organizationId) byCaller.delete(principal);
      if (byCaller.size === 0) this.entries.delete(boardId);
    }
  }
}

const READERS_QUERY =
  "query BoardReaders($boardId: ID!, $readers: [BoardReaderInput!]!) { _boardReaders(boardId: $boardId, readers: $readers) }";

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
