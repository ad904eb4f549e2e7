/**
 * Renders notices and command replies (model.ts) as Bot Framework message activities carrying one
 * Adaptive Card (schema 1.4, the version Teams needs for Action.Execute / Universal Actions).
 *
 * Buttons that act do so through `Action.Execute`: Teams sends an `adaptiveCard/action` invoke as
 * the user who pressed it, with our `verb` (CHAT_ACTIONS) and `data`, so the action runs with that
 * user's rights, never the bot's. Text that comes from users (item, board and people names, what
 * changed) goes into RichTextBlock TextRuns, which Teams shows as written: a TextBlock would read it
 * as markdown, and an item named `[urgent](https://evil.example)` would become a link.
 */
import { CHAT_ACTIONS, type ChatNotice, type ChatReply } from "../model.ts";
import { clip } from "../text.ts";

export const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";
export const ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json";
export const ADAPTIVE_CARD_VERSION = "1.4";
/** Notices shown in full in one burst card; the rest are counted. */
export const MAX_NOTICES_PER_CARD = 20;
/** Reply lines shown; Teams refuses activities over ~28 kB. */
const MAX_REPLY_LINES = 50;
/** Choice buttons shown. */
const MAX_CHOICES = 10;
const MAX_TEXT = 1_000;
const MAX_SUMMARY = 250;

type CardElement = Record<string, unknown>;

/** Plain text, shown as written (no markdown). */
function plain(value: string, style: { weight?: "Bolder"; size?: "Medium" | "Large"; isSubtle?: boolean } = {}, spacing?: "None" | "Small"): CardElement {
  return {
    type: "RichTextBlock",
    ...(spacing ? { spacing } : {}),
    inlines: [{ type: "TextRun", text: clip(value, MAX_TEXT), ...style }],
  };
}

/** Only web links become buttons: a `javascript:` or `file:` URL in data must not be one click away. */
function webUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.toString() : null;
  } catch {
    return null;
  }
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * When it happened, in the reader's own time zone and locale: Adaptive Cards' DATE()/TIME()
 * functions, which only take a strict RFC 3339 time (anything else is shown as it is).
 */
function when(occurredAt: string): CardElement {
  const time = ISO_TIME.test(occurredAt) ? new Date(occurredAt) : null;
  if (!time || Number.isNaN(time.getTime())) return plain(occurredAt, { isSubtle: true }, "None");
  const utc = time.toISOString().replace(/\.\d{3}Z$/, "Z");
  return { type: "TextBlock", text: `{{DATE(${utc}, SHORT)}} {{TIME(${utc})}}`, isSubtle: true, spacing: "None", wrap: true, size: "Small" };
}

function noticeActions(notice: ChatNotice): CardElement[] {
  const actions: CardElement[] = [];
  const url = webUrl(notice.url);
  if (url) actions.push({ type: "Action.OpenUrl", title: "View item", url });
  if (notice.itemId) actions.push({ type: "Action.Execute", title: "Mark done", verb: CHAT_ACTIONS.markDone, data: { itemId: notice.itemId } });
  return actions;
}

function noticeBody(notice: ChatNotice): CardElement[] {
  return [
    plain(notice.title, { weight: "Bolder", size: "Medium" }),
    plain(`${notice.boardName} · ${notice.actor ?? "Sunday"}`, { isSubtle: true }, "None"),
    plain(notice.summary),
    when(notice.occurredAt),
  ];
}

/** One line per notice, for the notification preview and clients that cannot show cards. */
function noticeLine(notice: ChatNotice): string {
  return `${notice.title} (${notice.boardName}): ${notice.summary}${notice.actor ? ` by ${notice.actor}` : ""}`;
}

function card(body: CardElement[], actions: CardElement[], fallbackText: string): CardElement {
  return {
    type: "AdaptiveCard",
    $schema: ADAPTIVE_CARD_SCHEMA,
    version: ADAPTIVE_CARD_VERSION,
    fallbackText: clip(fallbackText, MAX_TEXT),
    body,
    ...(actions.length > 0 ? { actions } : {}),
    // Full width in channels: the default narrow card cuts long item names short.
    msteams: { width: "Full" },
  };
}

function messageActivity(content: CardElement, summary: string): object {
  return {
    type: "message",
    // `summary` is what Teams shows in the activity feed and notifications; `text` stays empty so
    // the card is not preceded by the same words.
    summary: clip(summary, MAX_SUMMARY),
    attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content }],
  };
}

/** The notice card for one burst: one notice in full, or several each in their own Container. */
export function teamsNoticeCard(notices: readonly ChatNotice[]): CardElement {
  const [only] = notices;
  if (!only) throw new TypeError("teamsNoticeCard: no notices");
  if (notices.length === 1) return card(noticeBody(only), noticeActions(only), noticeLine(only));

  const shown = notices.slice(0, MAX_NOTICES_PER_CARD);
  const body: CardElement[] = [{ type: "TextBlock", text: `${notices.length} updates`, weight: "Bolder", size: "Large", wrap: true }];
  for (const [index, notice] of shown.entries()) {
    const actions = noticeActions(notice);
    body.push({
      type: "Container",
      separator: index > 0,
      spacing: "Medium",
      items: [...noticeBody(notice), ...(actions.length > 0 ? [{ type: "ActionSet", actions }] : [])],
    });
  }
  const more = notices.length - shown.length;
  if (more > 0) body.push({ type: "TextBlock", text: `and ${more} more`, isSubtle: true, wrap: true, separator: true });
  return card(body, [], shown.map(noticeLine).join("\n"));
}

/** A message activity with the notice card for one burst of notices (at least one). */
export function teamsNoticeActivity(notices: readonly ChatNotice[]): object {
  const [only] = notices;
  const summary = notices.length === 1 && only ? noticeLine(only) : `${notices.length} updates on ${[...new Set(notices.map((n) => n.boardName))].join(", ")}`;
  return messageActivity(teamsNoticeCard(notices), summary);
}

/** The card for a command's answer: the text, its lines, a button per choice, the link. */
export function teamsReplyCard(reply: ChatReply): CardElement {
  const lines = reply.lines ?? [];
  const shownLines = lines.slice(0, MAX_REPLY_LINES);
  const body: CardElement[] = [plain(reply.text, { weight: "Bolder" })];
  for (const [index, line] of shownLines.entries()) body.push(plain(line, {}, index > 0 ? "None" : undefined));
  if (lines.length > shownLines.length) body.push({ type: "TextBlock", text: `and ${lines.length - shownLines.length} more`, isSubtle: true, wrap: true });

  const actions: CardElement[] = (reply.choices ?? [])
    .slice(0, MAX_CHOICES)
    .map((choice) => ({ type: "Action.Execute", title: clip(choice.label, 80), verb: CHAT_ACTIONS.choose, data: { command: choice.command } }));
  const url = webUrl(reply.link?.url);
  if (reply.link && url) actions.push({ type: "Action.OpenUrl", title: clip(reply.link.label, 80), url });
  return card(body, actions, [reply.text, ...shownLines].join("\n"));
}

/** A message activity answering a command. Teams has no ephemeral messages: `ephemeral` is for the sender to route (e.g. 1:1). */
export function teamsReplyActivity(reply: ChatReply): object {
  return messageActivity(teamsReplyCard(reply), reply.text);
}

/**
 * The HTTP answer to an `adaptiveCard/action` invoke: Teams replaces the pressed card with the one
 * returned (Universal Actions' "card" response), so the presser sees the outcome in place.
 */
export function adaptiveCardInvokeResponse(reply: ChatReply): { status: 200; body: object } {
  return { status: 200, body: { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: teamsReplyCard(reply) } };
}
