/**
 * Reads the inbound Bot Framework activities the Teams connector acts on, from a JSON body whose
 * shape nothing guarantees (it passed authentication, but a field may still be missing, of another
 * type or absurdly long). Every field we use is checked; an activity missing one we need is `null`
 * (answered as a bad request), one we do not handle is `{ type: "other" }` (acknowledged, ignored).
 *
 *   - message: a user wrote to the bot (channel @mention, group chat, 1:1). `text` is what they
 *     wrote without the bot's own @mention; other people's mentions stay in it as `@Name` and are
 *     listed in `mentions` with their Teams ids.
 *   - conversationUpdate: members came or went; `botAdded` / `botRemoved` say whether the bot did.
 *     An `installationUpdate` with action `remove` (the app was uninstalled) reads as botRemoved.
 *   - invoke: e.g. `adaptiveCard/action` (an Action.Execute button was pressed): `verb` and `data`.
 */

export interface TeamsMention {
  readonly id: string;
  readonly name: string;
}

export interface TeamsMessageActivity {
  readonly type: "message";
  readonly id: string;
  readonly serviceUrl: string;
  readonly conversationId: string;
  /** "personal", "channel", "groupChat"; null when Teams did not say. */
  readonly conversationType: string | null;
  readonly fromId: string;
  readonly fromAadObjectId: string | null;
  readonly fromName: string | null;
  readonly recipientId: string;
  readonly tenantId: string | null;
  readonly teamId: string | null;
  readonly text: string;
  /** Users other than the bot mentioned in the message. */
  readonly mentions: readonly TeamsMention[];
}

export interface TeamsConversationUpdateActivity {
  readonly type: "conversationUpdate";
  readonly id: string;
  readonly serviceUrl: string;
  readonly conversationId: string;
  readonly tenantId: string;
  readonly teamId: string | null;
  readonly botAdded: boolean;
  readonly botRemoved: boolean;
  readonly fromId: string;
  readonly fromAadObjectId: string | null;
}

export interface TeamsInvokeActivity {
  readonly type: "invoke";
  readonly name: string;
  readonly id: string;
  readonly serviceUrl: string;
  readonly conversationId: string;
  readonly fromId: string;
  readonly fromAadObjectId: string | null;
  readonly tenantId: string;
  readonly teamId: string | null;
  /** Action.Execute's verb, for `adaptiveCard/action`; null otherwise. */
  readonly verb: string | null;
  /** Action.Execute's data (an object), for `adaptiveCard/action`; {} otherwise. */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface TeamsOtherActivity {
  readonly type: "other";
  /** The activity's type (e.g. `typing`, `messageReaction`, `installationUpdate`). */
  readonly name: string;
}

export type TeamsActivity = TeamsMessageActivity | TeamsConversationUpdateActivity | TeamsInvokeActivity | TeamsOtherActivity;

/** Teams ids, names and URLs are far below this; longer is not an activity Teams sent. */
const MAX_FIELD = 1_024;
/** Teams caps a message at about 28 kB; allow the HTML around it. */
const MAX_TEXT = 64 * 1024;
const MAX_ENTITIES = 200;
const MAX_MEMBERS = 1_000;

type Json = Record<string, unknown>;

const object = (value: unknown): Json | null => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : null);

function field(value: unknown, max = MAX_FIELD): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= max ? value : null;
}

/** An optional string: absent or empty is null, and so is a wrong type or an absurd length (never trusted, never fatal). */
const optional = (value: unknown): string | null => field(value);

function list(value: unknown, max: number): unknown[] | null {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) && value.length <= max ? value : null;
}

function serviceUrlOf(value: unknown): string | null {
  const url = field(value);
  if (url === null || !URL.canParse(url)) return null;
  const protocol = new URL(url).protocol;
  return protocol === "https:" || protocol === "http:" ? url : null;
}

/** What every activity we act on carries. */
interface Common {
  readonly id: string;
  readonly serviceUrl: string;
  readonly conversationId: string;
  readonly conversation: Json;
  readonly fromId: string;
  readonly fromAadObjectId: string | null;
  readonly fromName: string | null;
  readonly recipientId: string;
  readonly tenantId: string | null;
  readonly teamId: string | null;
}

function common(activity: Json): Common | null {
  const conversation = object(activity.conversation);
  const from = object(activity.from);
  const recipient = object(activity.recipient);
  if (!conversation || !from || !recipient) return null;
  const id = field(activity.id);
  const serviceUrl = serviceUrlOf(activity.serviceUrl);
  const conversationId = field(conversation.id);
  const fromId = field(from.id);
  const recipientId = field(recipient.id);
  if (!id || !serviceUrl || !conversationId || !fromId || !recipientId) return null;
  const channelData = object(activity.channelData);
  return {
    id,
    serviceUrl,
    conversationId,
    conversation,
    fromId,
    fromAadObjectId: optional(from.aadObjectId),
    fromName: optional(from.name),
    recipientId,
    tenantId: optional(conversation.tenantId) ?? optional(object(channelData?.tenant)?.id),
    teamId: optional(object(channelData?.team)?.id),
  };
}

const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** Teams sends message text as HTML-escaped text with `<at>` tags. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith("#")) {
      const code = name[1] === "x" || name[1] === "X" ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

interface MentionEntity {
  readonly id: string;
  readonly name: string;
  /** The markup in the text, e.g. `<at>Sunday</at>`. */
  readonly markup: string;
}

function mentionEntities(entities: unknown[]): MentionEntity[] {
  const mentions: MentionEntity[] = [];
  for (const entity of entities) {
    const value = object(entity);
    if (value?.type !== "mention") continue;
    const mentioned = object(value.mentioned);
    const id = field(mentioned?.id);
    if (!id) continue;
    const name = optional(mentioned?.name) ?? "";
    const markup = optional(value.text) ?? (name ? `<at>${name}</at>` : null);
    if (markup) mentions.push({ id, name, markup });
  }
  return mentions;
}

function messageText(raw: string, botId: string, mentions: readonly MentionEntity[]): string {
  let text = raw;
  for (const mention of mentions) {
    const inner = mention.markup.replace(/^<at[^>]*>|<\/at>$/g, "");
    text = text.split(mention.markup).join(mention.id === botId ? " " : `@${inner}`);
  }
  return decodeEntities(text)
    .replace(/[^\S\n]+/g, " ")
    .replace(/ *\n */g, "\n")
    .trim();
}

function parseMessage(activity: Json): TeamsMessageActivity | null {
  const base = common(activity);
  if (!base) return null;
  // A card submit or an attachment-only message has no text: that is an empty command, not a malformed one.
  const rawText = activity.text === undefined || activity.text === null || activity.text === "" ? "" : field(activity.text, MAX_TEXT);
  const entities = list(activity.entities, MAX_ENTITIES);
  if (rawText === null || entities === null) return null;
  const mentions = mentionEntities(entities);
  const others = new Map<string, TeamsMention>();
  for (const mention of mentions) {
    if (mention.id !== base.recipientId && !others.has(mention.id)) others.set(mention.id, { id: mention.id, name: mention.name });
  }
  return {
    type: "message",
    id: base.id,
    serviceUrl: base.serviceUrl,
    conversationId: base.conversationId,
    conversationType: optional(base.conversation.conversationType),
    fromId: base.fromId,
    fromAadObjectId: base.fromAadObjectId,
    fromName: base.fromName,
    recipientId: base.recipientId,
    tenantId: base.tenantId,
    teamId: base.teamId,
    text: messageText(rawText, base.recipientId, mentions),
    mentions: [...others.values()],
  };
}

function includesBot(members: unknown[], botId: string): boolean {
  return members.some((member) => field(object(member)?.id) === botId);
}

function conversationUpdate(base: Common, botAdded: boolean, botRemoved: boolean): TeamsConversationUpdateActivity | null {
  // The tenant binds the conversation to an installing organisation: without it there is nothing to bind.
  if (!base.tenantId) return null;
  return {
    type: "conversationUpdate",
    id: base.id,
    serviceUrl: base.serviceUrl,
    conversationId: base.conversationId,
    tenantId: base.tenantId,
    teamId: base.teamId,
    botAdded,
    botRemoved,
    fromId: base.fromId,
    fromAadObjectId: base.fromAadObjectId,
  };
}

function parseConversationUpdate(activity: Json): TeamsConversationUpdateActivity | null {
  const base = common(activity);
  const added = list(activity.membersAdded, MAX_MEMBERS);
  const removed = list(activity.membersRemoved, MAX_MEMBERS);
  if (!base || added === null || removed === null) return null;
  return conversationUpdate(base, includesBot(added, base.recipientId), includesBot(removed, base.recipientId));
}

function parseInvoke(activity: Json): TeamsInvokeActivity | null {
  const base = common(activity);
  const name = field(activity.name);
  if (!base || !name || !base.tenantId) return null;
  let verb: string | null = null;
  let data: Readonly<Record<string, unknown>> = {};
  if (name === "adaptiveCard/action") {
    const action = object(object(activity.value)?.action);
    verb = field(action?.verb);
    if (!action || !verb) return null;
    const payload = action.data === undefined || action.data === null ? {} : object(action.data);
    if (!payload) return null;
    data = payload;
  }
  return {
    type: "invoke",
    name,
    id: base.id,
    serviceUrl: base.serviceUrl,
    conversationId: base.conversationId,
    fromId: base.fromId,
    fromAadObjectId: base.fromAadObjectId,
    tenantId: base.tenantId,
    teamId: base.teamId,
    verb,
    data,
  };
}

/** The activity in `body` (the parsed JSON of the request), or null when it is malformed. */
export function parseActivity(body: unknown): TeamsActivity | null {
  const activity = object(body);
  const type = field(activity?.type, 64);
  if (!activity || !type) return null;
  switch (type) {
    case "message":
      return parseMessage(activity);
    case "conversationUpdate":
      return parseConversationUpdate(activity);
    case "invoke":
      return parseInvoke(activity);
    case "installationUpdate": {
      if (activity.action !== "remove") return { type: "other", name: type };
      const base = common(activity);
      return base ? conversationUpdate(base, false, true) : null;
    }
    default:
      return { type: "other", name: type };
  }
}
