/**
 * Block Kit rendering of what the command core answers (ChatReply) and of board notifications
 * (ChatNotice). Output is plain JSON for chat.postMessage or a response_url, always within Slack's
 * limits (50 blocks a message, 3000 characters a section, 150 a header, 75 a button label), with a
 * plain-text `text` fallback for notifications and screen readers.
 *
 * Button action ids carry a `:<n>` suffix (`sunday.mark_done:0`, `sunday.choose:3`) because Slack
 * wants them unique within a message; whoever handles /interactivity keeps what precedes the first
 * ":" and compares that with CHAT_ACTIONS. Link buttons carry no value: Slack still reports their
 * clicks, and parseInteraction leaves them out.
 *
 * User-provided text goes into mrkdwn with &, < and > escaped, so a name cannot ping a channel
 * (`<!here>`) or smuggle a link.
 */
import type { ActionsBlock, Button, ContextBlock, HeaderBlock, KnownBlock, SectionBlock } from "@slack/types";
import { CHAT_ACTIONS, type ChatNotice, type ChatNoticeKind, type ChatReply } from "../model.ts";
import { clip } from "../text.ts";

/** Slack's limits (https://docs.slack.dev/reference/block-kit/blocks). */
const MAX_BLOCKS = 50;
const MAX_SECTION_TEXT = 3000;
const MAX_HEADER_TEXT = 150;
const MAX_BUTTON_TEXT = 75;
const MAX_BUTTON_VALUE = 2000;
const MAX_URL = 3000;
const MAX_ACTION_ELEMENTS = 25;
/** Slack truncates longer fallbacks; ours only has to identify the message. */
const MAX_FALLBACK_TEXT = 4000;
/** Notices shown one by one in a batch; the rest are counted. */
export const MAX_NOTICES_PER_MESSAGE = 20;

const VIEW_ITEM = "sunday.view_item";
const OPEN_LINK = "sunday.open_link";

const KIND_LABELS: Record<ChatNoticeKind, string> = {
  "item.created": "New item",
  "item.status_changed": "Status changed",
  "item.assigned": "Assigned",
  "comment.added": "New comment",
  "board.shared": "Board shared",
};

/** For mrkdwn (and the fallback text, which Slack parses the same way). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Bold, unless the text would break out of the asterisks. */
function bold(escaped: string): string {
  return escaped.length > 0 && !/[*\n]/.test(escaped) ? `*${escaped}*` : escaped;
}

/** Shown in each reader's own time zone; the fallback is what clients that cannot format it show. */
function when(occurredAt: string): string {
  const ms = Date.parse(occurredAt);
  if (Number.isNaN(ms)) return escapeMrkdwn(occurredAt);
  const fallback = new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${fallback}>`;
}

function webUrl(url: string | null): string | null {
  if (url === null || url.length > MAX_URL) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? url : null;
  } catch {
    return null;
  }
}

const plain = (text: string, max: number) => ({ type: "plain_text" as const, text: clip(text, max), emoji: true });

function section(mrkdwn: string): SectionBlock {
  return { type: "section", text: { type: "mrkdwn", text: clip(mrkdwn, MAX_SECTION_TEXT) } };
}

function button(label: string, actionId: string, extra: { value?: string; url?: string; style?: "primary" }): Button {
  return { type: "button", text: plain(label, MAX_BUTTON_TEXT), action_id: actionId, ...extra };
}

function noticeButtons(notice: ChatNotice, index: number, markDone: boolean): Button[] {
  const buttons: Button[] = [];
  const url = webUrl(notice.url);
  if (url !== null) buttons.push(button("View item", `${VIEW_ITEM}:${index}`, { url }));
  if (markDone && notice.itemId !== null && notice.itemId.length > 0 && notice.itemId.length <= MAX_BUTTON_VALUE) {
    buttons.push(button("Mark done", `${CHAT_ACTIONS.markDone}:${index}`, { value: notice.itemId, style: "primary" }));
  }
  return buttons;
}

const actions = (elements: Button[]): ActionsBlock => ({ type: "actions", elements });

function byline(notice: ChatNotice): string {
  const who = notice.actor === null ? "" : ` by ${escapeMrkdwn(notice.actor)}`;
  return `${KIND_LABELS[notice.kind]} on ${bold(escapeMrkdwn(notice.boardName))}${who} · ${when(notice.occurredAt)}`;
}

function noticeFallback(notice: ChatNotice): string {
  const who = notice.actor === null ? "" : `${notice.actor}: `;
  return escapeMrkdwn(`${KIND_LABELS[notice.kind]} on ${notice.boardName} — ${who}${notice.title}${notice.summary ? ` (${notice.summary})` : ""}`);
}

function boardsPhrase(notices: readonly ChatNotice[]): string {
  const boards = [...new Set(notices.map((notice) => notice.boardName))];
  if (boards.length === 1) return boards[0] ?? "";
  if (boards.length === 2) return `${boards[0]} and ${boards[1]}`;
  return `${boards.length} boards`;
}

export interface SlackMessage {
  readonly text: string;
  readonly blocks: unknown[];
}

export interface SlackNoticeOptions {
  /** Offer "Mark done" on notices about an item. Default true. */
  readonly markDone?: boolean;
}

/**
 * One message for one notice, or for a burst of them on a channel (batched so the channel stays
 * within Slack's ~1 message a second): a header, then each notice with its own buttons.
 */
export function slackNoticeMessage(notices: readonly ChatNotice[], options: SlackNoticeOptions = {}): SlackMessage {
  if (notices.length === 0) throw new RangeError("a Slack notice message needs at least one notice");
  const markDone = options.markDone ?? true;
  const [first] = notices;
  if (notices.length === 1 && first) {
    const blocks: KnownBlock[] = [section(`${bold(escapeMrkdwn(first.title))}\n${escapeMrkdwn(first.summary)}`), context(byline(first))];
    const buttons = noticeButtons(first, 0, markDone);
    if (buttons.length > 0) blocks.push(actions(buttons));
    return { text: clip(noticeFallback(first), MAX_FALLBACK_TEXT), blocks };
  }
  const title = `${notices.length} updates on ${boardsPhrase(notices)}`;
  const header: HeaderBlock = { type: "header", text: plain(title, MAX_HEADER_TEXT) };
  const blocks: KnownBlock[] = [header];
  const shown = notices.slice(0, MAX_NOTICES_PER_MESSAGE);
  // Two blocks per notice at most: 1 header + 2 × 20 + 1 "more" stays under Slack's 50.
  shown.forEach((notice, index) => {
    blocks.push(section(`${bold(escapeMrkdwn(notice.title))}\n${escapeMrkdwn(notice.summary)}\n${byline(notice)}`));
    const buttons = noticeButtons(notice, index, markDone);
    if (buttons.length > 0) blocks.push(actions(buttons));
  });
  const hidden = notices.length - shown.length;
  if (hidden > 0) blocks.push(context(`and ${hidden} more`));
  const lines = shown.map((notice) => `• ${noticeFallback(notice)}`);
  if (hidden > 0) lines.push(`and ${hidden} more`);
  return { text: clip([escapeMrkdwn(title), ...lines].join("\n"), MAX_FALLBACK_TEXT), blocks: blocks.slice(0, MAX_BLOCKS) };
}

function context(mrkdwn: string): ContextBlock {
  return { type: "context", elements: [{ type: "mrkdwn", text: clip(mrkdwn, MAX_SECTION_TEXT) }] };
}

/** Lines packed into as few sections as the 3000-character limit allows; an overlong line is cut. */
function packLines(lines: readonly string[]): string[] {
  const chunks: string[] = [];
  let current = "";
  for (const line of lines) {
    const escaped = clip(escapeMrkdwn(line), MAX_SECTION_TEXT);
    const joined = current.length === 0 ? escaped : `${current}\n${escaped}`;
    if (joined.length > MAX_SECTION_TEXT) {
      chunks.push(current);
      current = escaped;
    } else {
      current = joined;
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export interface SlackReplyMessage extends SlackMessage {
  readonly response_type: "ephemeral" | "in_channel";
}

/** A command's answer, for a response_url (response_type applies) or chat.postMessage (it is ignored there). */
export function slackReplyMessage(reply: ChatReply): SlackReplyMessage {
  const buttons: Button[] = (reply.choices ?? [])
    .filter((choice) => choice.command.length > 0 && choice.command.length <= MAX_BUTTON_VALUE)
    .map((choice, index) => button(choice.label, `${CHAT_ACTIONS.choose}:${index}`, { value: choice.command }));
  const link = reply.link ? webUrl(reply.link.url) : null;
  if (reply.link && link !== null) buttons.push(button(reply.link.label, OPEN_LINK, { url: link }));
  const actionBlocks: ActionsBlock[] = [];
  for (let start = 0; start < buttons.length; start += MAX_ACTION_ELEMENTS) actionBlocks.push(actions(buttons.slice(start, start + MAX_ACTION_ELEMENTS)));

  const sections = [bold(escapeMrkdwn(reply.text)), ...packLines(reply.lines ?? [])].filter((text) => text.length > 0).map(section);
  // Keep the buttons (they are what the user must act on) and as much text as still fits.
  const room = Math.max(1, MAX_BLOCKS - actionBlocks.length);
  const blocks: KnownBlock[] = [...sections.slice(0, room), ...actionBlocks].slice(0, MAX_BLOCKS);
  const fallback = [reply.text, ...(reply.lines ?? [])].join("\n");
  return {
    text: clip(escapeMrkdwn(fallback), MAX_FALLBACK_TEXT),
    blocks,
    response_type: reply.ephemeral ? "ephemeral" : "in_channel",
  };
}
