import type { Caller } from "../auth/authenticate.ts";
import type { RunOperation } from "../execution/run-operation.ts";

const BOARD_QUERY = "query SubscriptionBoardAccess($id: ID!) { board(id: $id) { id } }";
const ITEM_QUERY = "query SubscriptionItemBoard($id: ID!) { item(id: $id) { id board { id } } }";

interface Entry {
  readonly organizationId: string;
  readonly readable: Promise<boolean>;
  readonly expires: number;
}

/**
 * Whether a caller may read a board, asked of the projects subgraph as that caller (so the
 * product's reading rules live in one place) and remembered per caller and board. Answers are
 * dropped when an event changes the board's readers or the organisation's members, and after
 * `ttlMs` at the latest, so the per-event check of every subscriber costs a lookup, not a request.
 */
export class BoardAccess {
  private readonly entries = new Map<string, Map<string, Entry>>();

  constructor(
    private readonly run: RunOperation,
    /** The longest a stale answer can live if an invalidating event were lost. @default 30_000 */
    private readonly ttlMs = 30_000,
  ) {}

  canRead(caller: Caller, boardId: string, correlationId: string): Promise<boolean> {
    let byCaller = this.entries.get(boardId);
    if (!byCaller) this.entries.set(boardId, (byCaller = new Map()));
    const cached = byCaller.get(caller.principal);
    if (cached && cached.expires > Date.now()) return cached.readable;
    const readable = this.run({ query: BOARD_QUERY, variables: { id: boardId } }, { caller, correlationId }).then(
      (result) => {
        const board = (result.data as { board?: { id: string } | null } | null | undefined)?.board;
        if (board) return true;
        // No board and no error is the answer "not yours"; an error is no answer and is not kept.
        if (result.errors?.length) byCaller.delete(caller.principal);
        return false;
      },
      (error: unknown) => {
        byCaller.delete(caller.principal);
        throw error;
      },
    );
    byCaller.set(caller.principal, { organizationId: caller.identity.organizationId, readable, expires: Date.now() + this.ttlMs });
    return readable;
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
