/**
 * What a chat message asks for, before anything is looked up: the command and the names (or ids) it
 * mentions, as typed. Pure and total: every text parses, to `unknown` when it is no command.
 *
 *   create <item> in <board>               the LAST bare ` in ` splits item from board
 *   create <item> in <board> / <group>     a group only after ` / `, or quoted after a quoted board:
 *   create "<item>" in "<board>" "<group>"
 *   list [board]
 *   status <item> <value>                  unquoted: the words are kept, the core tries the splits
 *   status "<item>" <value>  |  status <item> "<value>"
 *   assign <item> [to] @user               @user: a chat mention, @name, an email, a quoted name
 *   help
 *
 * Any name may be in straight or curly double quotes. Ids stand for names where a reply offers a
 * choice: `board:<uuid>`, `group:<uuid>`, `item:<uuid>`, `user:<uuid>`. Command words and `in` are
 * case-insensitive; runs of spaces count as one.
 */

export type RefKind = "board" | "group" | "item" | "user";

/** A thing named by the user: its name as typed (whitespace collapsed unless quoted), or its id. */
export type Ref = { readonly by: "name"; readonly name: string } | { readonly by: "id"; readonly id: string };

/** `fixed`: the user marked where the item ends (quotes, an id); `open`: the core tries each split. */
export type StatusTarget =
  | { readonly split: "fixed"; readonly item: Ref; readonly value: string }
  | { readonly split: "open"; readonly words: readonly string[] };

/** Who to assign: a user id (`user:<uuid>`), or the text the user wrote (mention, @name, email, name). */
export type AssigneeRef = { readonly by: "id"; readonly id: string } | { readonly by: "text"; readonly text: string };

export type CommandName = "create" | "list" | "status" | "assign" | "help";

export type ChatCommand =
  | { readonly kind: "create"; readonly item: string; readonly board: Ref; readonly group: Ref | null }
  | { readonly kind: "list"; readonly board: Ref | null }
  | { readonly kind: "status"; readonly target: StatusTarget }
  | { readonly kind: "assign"; readonly item: Ref; readonly assignee: AssigneeRef }
  | { readonly kind: "help" }
  /** `usage`: the command word was known but the rest did not fit it (the core shows its usage). */
  | { readonly kind: "unknown"; readonly text: string; readonly usage: CommandName | null };

interface Token {
  readonly value: string;
  readonly quoted: boolean;
}

/** Closing quotes each opening quote accepts: phones and chat apps turn `"` into `“…”` (or `„…“`). */
const CLOSERS: Readonly<Record<string, string>> = { '"': '"', "“": '”"', "”": '”"', "„": "“”" };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_FORM = /^(board|group|item|user):(.+)$/i;
const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index] ?? "";
    if (/\s/.test(char)) {
      index += 1;
      continue;
    }
    const closers = CLOSERS[char];
    if (closers !== undefined) {
      let end = index + 1;
      while (end < text.length && !closers.includes(text[end] ?? "")) end += 1;
      // An unterminated quote runs to the end of the message rather than failing it.
      tokens.push({ value: text.slice(index + 1, end).trim(), quoted: true });
      index = end + 1;
      continue;
    }
    let end = index;
    while (end < text.length && !/\s/.test(text[end] ?? "") && CLOSERS[text[end] ?? ""] === undefined) end += 1;
    tokens.push({ value: text.slice(index, end), quoted: false });
    index = end;
  }
  return tokens;
}

/** `board:<uuid>` (of the expected kind) as an id; anything else is not an id form. */
function idOf(token: Token | undefined, kind: RefKind): string | null {
  if (!token || token.quoted) return null;
  const match = ID_FORM.exec(token.value);
  if (!match || match[1]?.toLowerCase() !== kind || !UUID.test(match[2] ?? "")) return null;
  return (match[2] ?? "").toLowerCase();
}

const isBare = (token: Token | undefined, word: string) => token !== undefined && !token.quoted && token.value.toLowerCase() === word;
const joined = (tokens: readonly Token[]) =>
  tokens
    .map((token) => token.value)
    .join(" ")
    .trim();

/** The tokens as one reference: a lone id form, or the words (quoted or not) as a name; null when empty. */
function refOf(tokens: readonly Token[], kind: RefKind): Ref | null {
  if (tokens.length === 1) {
    const id = idOf(tokens[0], kind);
    if (id) return { by: "id", id };
  }
  const name = joined(tokens);
  return name === "" ? null : { by: "name", name };
}

/** A name or id that stands alone: quoted, or an id form. */
const isMarked = (token: Token | undefined, kind: RefKind) => token !== undefined && (token.quoted || idOf(token, kind) !== null);

function parseCreate(rest: readonly Token[]): ChatCommand | null {
  // The last `in` with something on both sides: item names often contain "in" ("Log in bug").
  for (let at = rest.length - 2; at >= 1; at -= 1) {
    if (!isBare(rest[at], "in")) continue;
    const item = joined(rest.slice(0, at));
    const target = rest.slice(at + 1);
    const slash = target.findIndex((token) => isBare(token, "/"));
    let board: Ref | null;
    let group: Ref | null = null;
    if (slash >= 0) {
      board = refOf(target.slice(0, slash), "board");
      group = refOf(target.slice(slash + 1), "group");
      if (group === null) return null;
    } else if (target.length > 1 && isMarked(target[0], "board") && target.slice(1).every((token) => isMarked(token, "group"))) {
      board = refOf(target.slice(0, 1), "board");
      group = refOf(target.slice(1), "group");
    } else {
      board = refOf(target, "board");
    }
    if (item === "" || board === null) return null;
    return { kind: "create", item, board, group };
  }
  return null;
}

function parseStatus(rest: readonly Token[]): ChatCommand | null {
  if (rest.length < 2) return null;
  const first = rest[0];
  const last = rest[rest.length - 1];
  if (isMarked(first, "item")) {
    const item = refOf(rest.slice(0, 1), "item");
    const value = joined(rest.slice(1));
    return item && value ? { kind: "status", target: { split: "fixed", item, value } } : null;
  }
  if (last?.quoted) {
    const item = refOf(rest.slice(0, -1), "item");
    return item && last.value ? { kind: "status", target: { split: "fixed", item, value: last.value } } : null;
  }
  return { kind: "status", target: { split: "open", words: rest.map((token) => token.value) } };
}

const isMention = (token: Token) => !token.quoted && (token.value.startsWith("@") || token.value.startsWith("<@"));

function parseAssign(rest: readonly Token[]): ChatCommand | null {
  if (rest.length < 2) return null;
  let at = -1;
  // Teams writes a mention as `@Display Name`: the mention runs from its `@` to the end.
  for (let index = rest.length - 1; index >= 1; index -= 1) {
    if (isMention(rest[index] as Token)) {
      at = index;
      break;
    }
  }
  const last = rest[rest.length - 1] as Token;
  if (at < 0 && (last.quoted || idOf(last, "user") !== null || EMAIL.test(last.value))) at = rest.length - 1;
  if (at < 1) return null;
  const userId = at === rest.length - 1 ? idOf(last, "user") : null;
  const assignee: AssigneeRef = userId ? { by: "id", id: userId } : { by: "text", text: joined(rest.slice(at)) };
  // "assign Fix login to @ada": `to` belongs to the sentence, not to the item's name.
  const itemTokens = rest.slice(0, at);
  const trimmed = itemTokens.length > 1 && isBare(itemTokens[itemTokens.length - 1], "to") ? itemTokens.slice(0, -1) : itemTokens;
  const item = refOf(trimmed, "item");
  if (!item || (assignee.by === "text" && assignee.text === "")) return null;
  return { kind: "assign", item, assignee };
}

export function parseCommand(text: string): ChatCommand {
  const tokens = tokenize(text);
  const head = tokens[0];
  const unknown = (usage: CommandName | null): ChatCommand => ({ kind: "unknown", text: text.trim(), usage });
  if (!head || head.quoted) return unknown(null);
  const rest = tokens.slice(1);
  switch (head.value.toLowerCase()) {
    case "help":
    case "?":
      return { kind: "help" };
    case "list":
      return { kind: "list", board: refOf(rest, "board") };
    case "create":
      return parseCreate(rest) ?? unknown("create");
    case "status":
      return parseStatus(rest) ?? unknown("status");
    case "assign":
      return parseAssign(rest) ?? unknown("assign");
    default:
      return unknown(null);
  }
}

/** A name as a command argument that parses back to itself: quoted, with quotes it does not contain. */
export function quoteName(name: string): string {
  if (!name.includes('"')) return `"${name}"`;
  if (!/[“”]/.test(name)) return `„${name}“`;
  return name;
}
