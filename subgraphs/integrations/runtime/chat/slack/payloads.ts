/**
 * What Slack posts to us, parsed from the raw body into the few fields we act on: slash commands
 * (form-encoded), button presses (form field `payload` holding JSON) and Events API callbacks
 * (JSON). Run these only after the signature was verified. Even then nothing about the shape is
 * trusted: a body that is not what Slack documents yields null (the caller answers 400), never a
 * throw, and every field is type-checked on the way out.
 */

export interface SlackSlashCommand {
  readonly teamId: string;
  readonly userId: string;
  readonly channelId: string;
  /** As typed, e.g. "/sunday". */
  readonly command: string;
  /** What followed the command, trimmed; may be empty. */
  readonly text: string;
  readonly responseUrl: string;
  readonly triggerId: string | null;
}

export interface SlackInteractionAction {
  /** The button's action_id, with any `:<n>` suffix (see blocks.ts): the receiver strips it. */
  readonly actionId: string;
  readonly value: string;
}

export interface SlackInteraction {
  readonly teamId: string;
  readonly userId: string;
  readonly channelId: string | null;
  readonly responseUrl: string | null;
  /** Only actions that carry a value; link buttons (View item) have none and need no work. */
  readonly actions: readonly SlackInteractionAction[];
}

export type SlackEvent =
  | {
      readonly type: "app_mention" | "message";
      readonly userId: string;
      readonly text: string;
      readonly channelId: string;
      /** "im" for a direct message, "channel", "group", "mpim"; null when Slack did not say. */
      readonly channelType: string | null;
      /** Set when a bot posted it (our own replies included): never answer those. */
      readonly botId: string | null;
      /** message_changed, file_share, …: not a command someone typed. */
      readonly subtype: string | null;
    }
  | { readonly type: "app_uninstalled" }
  | { readonly type: "tokens_revoked"; readonly botUserIds: readonly string[] }
  | { readonly type: "other"; readonly name: string };

export type SlackEventsBody =
  | { readonly kind: "url_verification"; readonly challenge: string }
  | { readonly kind: "event_callback"; readonly eventId: string; readonly teamId: string; readonly event: SlackEvent };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const nonEmpty = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

/** Where Slack wants follow-ups posted; anything but an absolute http(s) URL is refused. */
function httpUrl(value: unknown): string | null {
  const raw = nonEmpty(value);
  if (raw === null) return null;
  try {
    const url = new URL(raw);
    return url.protocol === "https:" || url.protocol === "http:" ? raw : null;
  } catch {
    return null;
  }
}

function form(rawBody: string): URLSearchParams | null {
  if (typeof rawBody !== "string") return null;
  try {
    return new URLSearchParams(rawBody);
  } catch {
    return null;
  }
}

function json(raw: string): Json | null {
  try {
    const parsed: unknown = JSON.parse(raw);
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** A `/sunday …` slash command. */
export function parseSlashCommand(rawBody: string): SlackSlashCommand | null {
  const fields = form(rawBody);
  if (!fields) return null;
  const teamId = nonEmpty(fields.get("team_id"));
  const userId = nonEmpty(fields.get("user_id"));
  const channelId = nonEmpty(fields.get("channel_id"));
  const command = nonEmpty(fields.get("command"));
  const responseUrl = httpUrl(fields.get("response_url"));
  const text = fields.get("text") ?? "";
  if (!teamId || !userId || !channelId || !command || !responseUrl) return null;
  return { teamId, userId, channelId, command, text: text.trim(), responseUrl, triggerId: nonEmpty(fields.get("trigger_id")) };
}

/** A button press (`block_actions`); other interaction types are not ours and yield null. */
export function parseInteraction(rawBody: string): SlackInteraction | null {
  const fields = form(rawBody);
  const raw = fields?.get("payload");
  if (!raw) return null;
  const payload = json(raw);
  if (payload?.type !== "block_actions") return null;
  const user = isObject(payload.user) ? payload.user : null;
  const userId = nonEmpty(user?.id);
  // `team` is null for apps installed org-wide on Enterprise Grid; the user still names their team.
  const teamId = nonEmpty(isObject(payload.team) ? payload.team.id : undefined) ?? nonEmpty(user?.team_id);
  if (!userId || !teamId || !Array.isArray(payload.actions)) return null;
  const actions: SlackInteractionAction[] = [];
  for (const action of payload.actions) {
    if (!isObject(action)) continue;
    const actionId = nonEmpty(action.action_id);
    if (actionId !== null && typeof action.value === "string") actions.push({ actionId, value: action.value });
  }
  return {
    teamId,
    userId,
    channelId: isObject(payload.channel) ? nonEmpty(payload.channel.id) : null,
    responseUrl: httpUrl(payload.response_url),
    actions,
  };
}

function slackEvent(event: Json): SlackEvent | null {
  const type = nonEmpty(event.type);
  if (type === null) return null;
  switch (type) {
    case "app_mention":
    case "message": {
      const userId = nonEmpty(event.user);
      const channelId = nonEmpty(event.channel);
      const subtype = nonEmpty(event.subtype);
      // Edits, deletions and bot posts come without a user: nobody to act as.
      if (userId === null || channelId === null) return { type: "other", name: subtype ? `${type}.${subtype}` : type };
      return {
        type,
        userId,
        channelId,
        text: typeof event.text === "string" ? event.text : "",
        channelType: nonEmpty(event.channel_type),
        botId: nonEmpty(event.bot_id),
        subtype,
      };
    }
    case "app_uninstalled":
      return { type };
    case "tokens_revoked": {
      const tokens = isObject(event.tokens) ? event.tokens : {};
      const bot = Array.isArray(tokens.bot) ? tokens.bot : [];
      return { type, botUserIds: bot.filter((id): id is string => typeof id === "string" && id.length > 0) };
    }
    default:
      return { type: "other", name: type };
  }
}

/** An Events API request: the endpoint check (url_verification) or an event. */
export function parseEventsBody(rawBody: string): SlackEventsBody | null {
  if (typeof rawBody !== "string") return null;
  const body = json(rawBody);
  if (!body) return null;
  if (body.type === "url_verification") {
    const challenge = nonEmpty(body.challenge);
    return challenge === null ? null : { kind: "url_verification", challenge };
  }
  if (body.type !== "event_callback") return null;
  const eventId = nonEmpty(body.event_id);
  const teamId = nonEmpty(body.team_id);
  if (eventId === null || teamId === null || !isObject(body.event)) return null;
  const event = slackEvent(body.event);
  return event === null ? null : { kind: "event_callback", eventId, teamId, event };
}

/** The command in a mention: "<@U0BOT> create Fix in Roadmap" → "create Fix in Roadmap". */
export function commandText(text: string): string {
  return text.replace(/^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s:,]*/, "").trim();
}
