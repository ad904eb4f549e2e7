/**
 * What the chat connectors (Slack, Teams) and the command core share, independent of any chat
 * service: who acts, what a command answers, what a notification says. Each connector renders these
 * in its own format (Block Kit, Adaptive Cards); nothing here knows either.
 */
import type { FormattedExecutionResult } from "graphql";
import type { Identity } from "../../../../platform/identity.ts";

export type ChatProvider = "SLACK" | "TEAMS";

/** One GraphQL operation, as the gateway's POST /graphql takes it. */
export interface ChatOperation {
  readonly query: string;
  readonly operationName?: string;
  readonly variables?: Readonly<Record<string, unknown>>;
}

/**
 * Runs an operation through the gateway's pipeline as this Sunday user (same limits, same
 * authorization as the user's own requests). Resolves with the result, GraphQL errors included;
 * rejects only when the gateway cannot be reached.
 */
export type ChatSurface = "slack" | "teams";

/** Runs `operation` as `identity`; `surface` is the chat app it came through (none: the runtime's own work). */
export type ActAs = (identity: Identity, operation: ChatOperation, surface?: ChatSurface) => Promise<FormattedExecutionResult>;

/** A button on a reply: pressing it runs `command` as the user who pressed it. */
export interface ChatChoice {
  readonly label: string;
  readonly command: string;
}

/** What the command core answers. Connectors render it; `ephemeral` replies are shown to the asker only. */
export interface ChatReply {
  /** First line, plain text (connectors may add emphasis). */
  readonly text: string;
  /** Further lines (list results, help), plain text. */
  readonly lines?: readonly string[];
  /** Offered when a name matched several things: a choice, not a guess. */
  readonly choices?: readonly ChatChoice[];
  /** A link to what the reply is about (the item's page in the web app). */
  readonly link?: { readonly label: string; readonly url: string };
  readonly ephemeral: boolean;
}

export type ChatNoticeKind = "item.created" | "item.status_changed" | "item.assigned" | "comment.added" | "board.shared";

/** One notification about a board, posted to a channel. */
export interface ChatNotice {
  readonly eventId: string;
  readonly kind: ChatNoticeKind;
  /** The item's name, or the board's for board.shared. */
  readonly title: string;
  readonly boardName: string;
  /** Display name of who did it; null when unknown (system). */
  readonly actor: string | null;
  /** What changed, plain text, e.g. `Status: Working on it → Done`. */
  readonly summary: string;
  /** "View item" opens this (the configured web app URL + the item's path); null: no button. */
  readonly url: string | null;
  /** "Mark done" acts on this item; null: no button (board.shared, deleted items). */
  readonly itemId: string | null;
  readonly occurredAt: string;
}

/** Action ids the rendered buttons carry back (Slack `action_id`, Teams `Action.Execute` verb). */
export const CHAT_ACTIONS = {
  markDone: "sunday.mark_done",
  choose: "sunday.choose",
} as const;
