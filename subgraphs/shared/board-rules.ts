import type { Identity } from "../../platform/identity.ts";
import { isAdmin, isWriter } from "./authorization.ts";

/**
 * What the board reading and writing rules look at. The projects subgraph owns boards and their
 * shares and applies these rules to its rows; the items subgraph applies the same functions to the
 * facts it folds from the boards' events (items/src/board-access.ts), so there is one rule.
 */
export interface BoardRuleFacts {
  readonly organizationId: string;
  /** PUBLIC, PRIVATE or SHAREABLE. */
  readonly kind: string;
  readonly ownerId: string;
  readonly archived: boolean;
}

/** A share's permission on the board (OWNER, EDITOR, VIEWER); undefined when not shared with the caller. */
export type SharePermission = string | undefined;

/**
 * Admins read every board of the organisation, members and viewers every non-private board plus
 * those they own or that are shared with them, guests only the boards shared with them.
 */
export function canReadBoard(identity: Identity, board: BoardRuleFacts, shared: boolean): boolean {
  if (board.organizationId !== identity.organizationId) return false;
  if (isAdmin(identity)) return true;
  if (identity.role === "GUEST") return shared;
  return board.kind !== "PRIVATE" || board.ownerId === identity.userId || shared;
}

/** Writing board content (of a board the caller may read) needs a writer role, an active board and no read-only share. */
export function canWriteBoard(identity: Identity, board: BoardRuleFacts, share: SharePermission): boolean {
  if (!isWriter(identity) || board.archived) return false;
  if (isAdmin(identity) || board.ownerId === identity.userId) return true;
  return share !== "VIEWER";
}
