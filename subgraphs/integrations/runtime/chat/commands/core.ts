/**
 * The chat-command core both connectors (Slack, Teams) use: it parses a message, finds the boards,
 * items and users it names among those the user can see, runs the GraphQL operation as that user,
 * and answers with a service-neutral ChatReply.
 *
 * Every read and write goes through `actAs`, that is through the gateway as the user: names are
 * looked up only among what the user may read (so another organisation's boards, and private boards
 * not shared with them, are simply not found), and the core never decides access itself. It turns
 * the gateway's refusals (FORBIDDEN, NOT_FOUND, CONFLICT, …) into plain replies, without stack
 * traces or internal messages. A name that fits several things gets a reply with choices, each a
 * command that names the thing by id (`board:<uuid>`, `item:<uuid>`, …), never a guess.
 */
import type { GraphQLFormattedError } from "graphql";
import type { Identity } from "../../../../../platform/identity.ts";
import type { ActAs, ChatChoice, ChatReply, ChatSurface } from "../model.ts";
import { OPERATIONS, type OperationKey } from "./operations.ts";
import { parseCommand, quoteName, type AssigneeRef, type ChatCommand, type CommandName, type Ref, type StatusTarget } from "./parse.ts";
import { clip } from "../text.ts";

export interface ChatActor {
  readonly identity: Identity;
  /** The chat app the user acts through: recorded with the changes the command makes. */
  readonly surface: ChatSurface;
  /** The Sunday user a chat mention (Slack `<@U…>`, a Teams mention's id, or an email) stands for, in the actor's organisation; null when unknown. */
  resolveMention(raw: string): Promise<string | null>;
}

export interface CommandCore {
  run(text: string, actor: ChatActor): Promise<ChatReply>;
  /** The "Mark done" button: the item's status set to its board's `Done` label (nothing to do when it is already). */
  markDone(itemId: string, actor: ChatActor): Promise<ChatReply>;
}

export interface CommandCoreOptions {
  readonly actAs: ActAs;
  /** Base of the web app: item links are `${webUrl}/boards/{boardId}/items/{itemId}`. */
  readonly webUrl: string;
}

/** Lines a list reply shows at most; choices a reply offers at most. */
const MAX_LINES = 20;
const MAX_CHOICES = 10;
/** How far name lookups page through the boards the user can read. */
const BOARD_PAGE = 100;
const ITEM_SEARCH_BOARD_PAGE = 50;
const ITEMS_PER_BOARD = 25;
const MAX_PAGES = 10;
/** An unquoted status command longer than this is not tried split by split. */
const MAX_STATUS_WORDS = 16;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface PageInfo {
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}
interface Column {
  readonly id: string;
  readonly title: string;
  readonly type: string;
  readonly settings: unknown;
}
interface ColumnValue {
  readonly column: { readonly id: string };
  readonly value: unknown;
}
interface User {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly role: string | null;
}
interface ItemDetail {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly board: { readonly id: string; readonly name: string; readonly columns: readonly Column[] };
  readonly columnValues: readonly ColumnValue[];
  readonly assignees: readonly { readonly id: string }[];
}

/** What an error is about, so the reply can name it. */
interface Subject {
  readonly board?: string;
  readonly item?: string;
}

/** Ends a command early with this reply (a refusal, a choice, a not-found). */
class Answer extends Error {
  readonly reply: ChatReply;
  constructor(reply: ChatReply) {
    super(reply.text);
    this.reply = reply;
  }
}

/** A GraphQL error that a caller may want to handle (CONFLICT → retry) before it becomes a reply. */
class OperationFailed extends Error {
  readonly code: string;
  readonly subject: Subject;
  readonly detail: string;
  constructor(code: string, detail: string, subject: Subject) {
    super(`${code}: ${detail}`);
    this.code = code;
    this.detail = detail;
    this.subject = subject;
  }
}

const say = (text: string, lines?: readonly string[], extra: Partial<ChatReply> = {}): ChatReply => ({
  text,
  ...(lines && lines.length > 0 ? { lines } : {}),
  ephemeral: true,
  ...extra,
});

const normal = (name: string) => name.replace(/\s+/g, " ").trim().toLowerCase();
const quoted = (name: string) => `“${clip(name, 120)}”`;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A STATUS column's labels; settings hold `{ labels: [{ label, color }] }` or plain strings. */
function labelsOf(column: Column): string[] {
  if (!isRecord(column.settings) || !Array.isArray(column.settings.labels)) return [];
  return column.settings.labels.flatMap((label) =>
    typeof label === "string" ? [label] : isRecord(label) && typeof label.label === "string" ? [label.label] : [],
  );
}

const statusColumns = (columns: readonly Column[]) => columns.filter((column) => column.type === "STATUS");
const labelMatching = (column: Column, value: string) => labelsOf(column).find((label) => normal(label) === normal(value)) ?? null;

function currentLabel(values: readonly ColumnValue[], columnId: string): string | null {
  const value = values.find((entry) => entry.column.id === columnId)?.value;
  return isRecord(value) && typeof value.label === "string" ? value.label : null;
}

/** Exact matches win; otherwise partial ones. One → it; several → all of them (a choice); none → null. */
function pick<T>(candidates: readonly T[], wanted: string, names: (candidate: T) => readonly string[]): { one: T } | { several: T[] } | null {
  const target = normal(wanted);
  const exact = candidates.filter((candidate) => names(candidate).some((name) => normal(name) === target));
  const partial = exact.length > 0 ? exact : candidates.filter((candidate) => names(candidate).some((name) => normal(name).includes(target)));
  if (partial.length === 0) return null;
  if (partial.length === 1) return { one: partial[0] as T };
  return { several: partial };
}

function choose(text: string, choices: readonly ChatChoice[]): Answer {
  const shown = choices.slice(0, MAX_CHOICES);
  const lines = choices.length > shown.length ? [`Showing ${shown.length} of ${choices.length}: use a longer name to narrow it down.`] : [];
  return new Answer(say(text, lines, { choices: shown }));
}

/** A reference as a command argument again, for the commands of choices. */
const refText = (ref: Ref, kind: "board" | "group" | "item") => (ref.by === "id" ? `${kind}:${ref.id}` : quoteName(ref.name));

const USAGE: Readonly<Record<CommandName, string>> = {
  create: "create <item> in <board>  (or: create <item> in <board> / <group>)",
  list: "list  or  list <board>",
  status: "status <item> <status>",
  assign: "assign <item> @someone",
  help: "help",
};

const HELP: ChatReply = say("What I can do in Sunday", [
  "create <item> in <board> — e.g. create Fix login in Website",
  "create <item> in <board> / <group> — e.g. create Fix login in Website / Backlog",
  "list — the boards you can see",
  "list <board> — its items, e.g. list Website",
  "status <item> <status> — e.g. status Fix login Done",
  "assign <item> @someone — e.g. assign Fix login @Ada (a mention, a name or an email)",
  "help — this list",
  'Names with spaces work as typed; put a name in "quotes" when it contains " in " or could be read two ways.',
]);

/** The reply for a refusal of the gateway: what it means for the user, never internals. */
function refusal(code: string, detail: string, subject: Subject): ChatReply {
  switch (code) {
    case "FORBIDDEN":
      return say(subject.board ? `You can view ${quoted(subject.board)} but not change it.` : "You don't have permission to do that in Sunday.");
    case "NOT_FOUND":
      return say(subject.item ? `${quoted(subject.item)} no longer exists, or you can't see it.` : "I can't find that in Sunday, or you can't see it.");
    case "UNAUTHENTICATED":
    case "AUTHENTICATION_UNAVAILABLE":
      return say("Sunday could not confirm who you are. Try again in a moment; if it keeps failing, link your account again.");
    case "RATE_LIMITED":
      return say("You're sending commands faster than Sunday allows. Wait a minute and try again.");
    case "BAD_USER_INPUT":
      return say(`Sunday did not accept that: ${clip(detail, 300)}`);
    case "CONFLICT":
      return say(`${subject.item ? quoted(subject.item) : "It"} was changed by someone else at the same moment. Try again.`);
    default:
      return say(`Sunday could not do that right now (error ${code}). Try again later.`);
  }
}

export function createCommandCore(options: CommandCoreOptions): CommandCore {
  const { actAs } = options;
  const webUrl = options.webUrl.replace(/\/+$/, "");
  const itemLink = (boardId: string, itemId: string) => ({ label: "View item", url: `${webUrl}/boards/${boardId}/items/${itemId}` });

  async function call<T>(actor: ChatActor, key: OperationKey, variables: Record<string, unknown>, subject: Subject = {}): Promise<T> {
    const operation = OPERATIONS[key];
    const result = await actAs(actor.identity, { query: operation.query, operationName: operation.operationName, variables }, actor.surface);
    const error: GraphQLFormattedError | undefined = result.errors?.[0];
    if (error) {
      const code = typeof error.extensions?.code === "string" ? error.extensions.code : "INTERNAL_SERVER_ERROR";
      throw new OperationFailed(code, error.message, subject);
    }
    if (!result.data) throw new OperationFailed("INTERNAL_SERVER_ERROR", "no data", subject);
    return result.data as T;
  }

  /** Every page of a boards connection the user can read (bounded), for lookups by name. */
  async function allBoards<T>(
    actor: ChatActor,
    key: "boards" | "statusColumns" | "findItems",
    variables: Record<string, unknown>,
    first: number,
  ): Promise<T[]> {
    const nodes: T[] = [];
    let after: string | null = null;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const data: { boards: { nodes: T[]; pageInfo: PageInfo } } = await call(actor, key, { ...variables, first, after });
      nodes.push(...data.boards.nodes);
      if (!data.boards.pageInfo.hasNextPage || !data.boards.pageInfo.endCursor) break;
      after = data.boards.pageInfo.endCursor;
    }
    return nodes;
  }

  async function boardId(actor: ChatActor, ref: Ref, commandFor: (board: string) => string): Promise<string> {
    if (ref.by === "id") return ref.id;
    const boards = await allBoards<{ id: string; name: string; workspace: { name: string } | null }>(actor, "boards", { search: ref.name }, BOARD_PAGE);
    const found = pick(boards, ref.name, (board) => [board.name]);
    if (!found) throw new Answer(say(`I can't find a board named ${quoted(ref.name)}.`, ["Type list to see the boards you can use."]));
    if ("one" in found) return found.one.id;
    throw choose(
      `Several boards match ${quoted(ref.name)}: which one?`,
      found.several.map((board) => ({
        label: board.workspace ? `${board.name} (${board.workspace.name})` : board.name,
        command: commandFor(`board:${board.id}`),
      })),
    );
  }

  /** Items named so, on the boards the user can read, with their board. */
  async function itemsNamed(actor: ChatActor, name: string): Promise<{ id: string; name: string; board: { id: string; name: string } }[]> {
    const boards = await allBoards<{ id: string; name: string; items: { nodes: { id: string; name: string }[] } | null }>(
      actor,
      "findItems",
      { search: name, items: ITEMS_PER_BOARD },
      ITEM_SEARCH_BOARD_PAGE,
    );
    return boards.flatMap((board) => (board.items?.nodes ?? []).map((item) => ({ ...item, board: { id: board.id, name: board.name } })));
  }

  async function itemId(actor: ChatActor, ref: Ref, commandFor: (item: string) => string): Promise<string> {
    if (ref.by === "id") return ref.id;
    const found = pick(await itemsNamed(actor, ref.name), ref.name, (item) => [item.name]);
    if (!found) throw new Answer(say(`I can't find an item named ${quoted(ref.name)}.`, ["Check the name (list <board> shows a board's items)."]));
    if ("one" in found) return found.one.id;
    throw choose(
      `Several items match ${quoted(ref.name)}: which one?`,
      found.several.map((item) => ({ label: `${item.name} (${item.board.name})`, command: commandFor(`item:${item.id}`) })),
    );
  }

  async function readItem(actor: ChatActor, id: string): Promise<ItemDetail> {
    const notFound = () => new Answer(say("That item no longer exists, or you can't see it."));
    if (!UUID.test(id)) throw notFound();
    const { item } = await call<{ item: ItemDetail | null }>(actor, "item", { id });
    if (!item) throw notFound();
    return item;
  }

  /**
   * Sets the item's status to what `choose` picks from the item as read, with the version read
   * (re-read and tried once more when someone else changed the item in between).
   */
  async function changeStatus(actor: ChatActor, id: string, decide: (item: ItemDetail) => { column: Column; label: string }): Promise<ChatReply> {
    for (let attempt = 1; ; attempt += 1) {
      const item = await readItem(actor, id);
      const { column, label } = decide(item);
      const from = currentLabel(item.columnValues, column.id);
      if (from === label) return say(`${quoted(item.name)} is already ${label}.`);
      const subject = { board: item.board.name, item: item.name };
      try {
        await call(actor, "setStatus", { input: { itemId: item.id, columnId: column.id, value: { label }, expectedVersion: item.version } }, subject);
      } catch (error) {
        if (error instanceof OperationFailed && error.code === "CONFLICT" && attempt < 2) continue;
        throw error;
      }
      return {
        text: `${quoted(item.name)} is now ${label}.`,
        lines: [`${column.title}: ${from ?? "none"} → ${label} · ${item.board.name}`],
        link: itemLink(item.board.id, item.id),
        ephemeral: false,
      };
    }
  }

  /** The status `value` on the item's board (its first STATUS column), or an answer listing the labels. */
  const statusNamed = (value: string) => (item: ItemDetail) => {
    const column = statusColumns(item.board.columns)[0];
    if (!column) throw new Answer(say(`${quoted(item.board.name)} has no status column.`));
    const label = labelMatching(column, value);
    if (!label) throw new Answer(say(`${quoted(value)} is not a status on ${quoted(item.board.name)}.`, [`Statuses: ${labelsOf(column).join(", ")}`]));
    return { column, label };
  };

  async function create(actor: ChatActor, command: Extract<ChatCommand, { kind: "create" }>): Promise<ChatReply> {
    const groupSuffix = command.group ? ` ${refText(command.group, "group")}` : "";
    const id = await boardId(actor, command.board, (board) => `create ${quoteName(command.item)} in ${board}${groupSuffix}`);
    const { board } = await call<{ board: { id: string; name: string; groups: { id: string; name: string }[] } | null }>(actor, "board", { id });
    if (!board) throw new Answer(say("I can't find that board, or you can't see it."));
    let group = board.groups[0];
    if (command.group?.by === "id") {
      const wanted = command.group.id;
      group = board.groups.find((candidate) => candidate.id === wanted);
      if (!group) throw new Answer(say(`${quoted(board.name)} has no such group.`));
    } else if (command.group?.by === "name") {
      const name = command.group.name;
      const found = pick(board.groups, name, (candidate) => [candidate.name]);
      if (!found)
        throw new Answer(
          say(`${quoted(board.name)} has no group named ${quoted(name)}.`, [`Groups: ${board.groups.map((candidate) => candidate.name).join(", ")}`]),
        );
      if ("several" in found) {
        throw choose(
          `Several groups of ${quoted(board.name)} match ${quoted(name)}: which one?`,
          found.several.map((candidate) => ({
            label: candidate.name,
            command: `create ${quoteName(command.item)} in board:${board.id} group:${candidate.id}`,
          })),
        );
      }
      group = found.one;
    }
    if (!group) throw new Answer(say(`${quoted(board.name)} has no group to add an item to.`));
    const { createItem } = await call<{ createItem: { id: string; name: string } }>(
      actor,
      "createItem",
      { input: { boardId: board.id, groupId: group.id, name: command.item } },
      { board: board.name },
    );
    return { text: `Created ${quoted(createItem.name)} in ${board.name} / ${group.name}.`, link: itemLink(board.id, createItem.id), ephemeral: false };
  }

  async function list(actor: ChatActor, ref: Ref | null): Promise<ChatReply> {
    if (!ref) {
      const { boards } = await call<{ boards: { nodes: { name: string }[]; pageInfo: PageInfo } }>(actor, "boards", { first: MAX_LINES + 1 });
      if (boards.nodes.length === 0) return say("You can't see any boards yet.");
      const more = boards.nodes.length > MAX_LINES || boards.pageInfo.hasNextPage;
      const lines = boards.nodes.slice(0, MAX_LINES).map((board) => `• ${board.name}`);
      return say(
        more ? `The first ${MAX_LINES} boards you can see` : "Boards you can see",
        more ? [...lines, "…and more: list <board> shows one board's items."] : lines,
      );
    }
    const id = await boardId(actor, ref, (board) => `list ${board}`);
    const { board } = await call<{
      board: {
        id: string;
        name: string;
        columns: Column[];
        items: { nodes: { id: string; name: string; columnValues: ColumnValue[] }[]; pageInfo: PageInfo } | null;
      } | null;
    }>(actor, "boardItems", { id, first: MAX_LINES });
    if (!board) throw new Answer(say("I can't find that board, or you can't see it."));
    const items = board.items?.nodes ?? [];
    if (items.length === 0) return say(`${board.name} has no items yet.`);
    const status = statusColumns(board.columns)[0];
    const lines = items.map((item) => {
      const label = status ? currentLabel(item.columnValues, status.id) : null;
      return status ? `• ${item.name} — ${label ?? "no status"}` : `• ${item.name}`;
    });
    const more = board.items?.pageInfo.hasNextPage === true;
    return say(more ? `The first ${MAX_LINES} items of ${board.name}` : `Items of ${board.name}`, lines);
  }

  async function status(actor: ChatActor, target: StatusTarget): Promise<ChatReply> {
    if (target.split === "fixed") {
      const id = await itemId(actor, target.item, (item) => `status ${item} ${target.value}`);
      return changeStatus(actor, id, statusNamed(target.value));
    }
    const words = target.words;
    if (words.length > MAX_STATUS_WORDS) throw new Answer(say('That is a long one: put the item\'s name in "quotes", e.g. status "Fix login" Done.'));
    // Splits whose status part is a label somewhere, longest label first ("Working on it" before "it").
    const boards = await allBoards<{ id: string; columns: Column[] }>(actor, "statusColumns", {}, BOARD_PAGE);
    const statusOf = new Map(
      boards.flatMap((board) => (statusColumns(board.columns)[0] ? [[board.id, statusColumns(board.columns)[0] as Column] as const] : [])),
    );
    const known = new Set([...statusOf.values()].flatMap((column) => labelsOf(column).map(normal)));
    for (let labelWords = words.length - 1; labelWords >= 1; labelWords -= 1) {
      const value = words.slice(-labelWords).join(" ");
      if (!known.has(normal(value))) continue;
      const name = words.slice(0, -labelWords).join(" ");
      const candidates = (await itemsNamed(actor, name)).filter((item) => {
        const column = statusOf.get(item.board.id);
        return column !== undefined && labelMatching(column, value) !== null;
      });
      const found = pick(candidates, name, (item) => [item.name]);
      if (!found) continue;
      if ("one" in found) return changeStatus(actor, found.one.id, statusNamed(value));
      throw choose(
        `Several items match ${quoted(name)}: which one?`,
        found.several.map((item) => ({ label: `${item.name} (${item.board.name})`, command: `status item:${item.id} ${value}` })),
      );
    }
    // No split names an item and one of its board's labels: find the item alone, longest name first,
    // so the answer can list the labels it does have.
    for (let labelWords = 1; labelWords < words.length; labelWords += 1) {
      const name = words.slice(0, -labelWords).join(" ");
      const value = words.slice(-labelWords).join(" ");
      const found = pick(await itemsNamed(actor, name), name, (item) => [item.name]);
      if (!found) continue;
      if ("one" in found) return changeStatus(actor, found.one.id, statusNamed(value));
      throw choose(
        `Several items match ${quoted(name)}: which one?`,
        found.several.map((item) => ({ label: `${item.name} (${item.board.name})`, command: `status item:${item.id} ${value}` })),
      );
    }
    throw new Answer(
      say(`I can't find an item named ${quoted(words.slice(0, -1).join(" "))}.`, ['Check the name, or put it in "quotes": status "Fix login" Done.']),
    );
  }

  async function userById(actor: ChatActor, id: string): Promise<User> {
    const { user } = UUID.test(id) ? await call<{ user: User | null }>(actor, "user", { id }) : { user: null };
    if (!user || user.role === null) throw new Answer(say("That person is not a member of your Sunday organization."));
    return user;
  }

  async function assignee(actor: ChatActor, ref: AssigneeRef, commandFor: (user: string) => string): Promise<User> {
    if (ref.by === "id") return userById(actor, ref.id);
    const mentioned = await actor.resolveMention(ref.text);
    if (mentioned) return userById(actor, mentioned);
    if (ref.text.startsWith("<@")) {
      throw new Answer(
        say("I can't tell which Sunday user that is.", ["They may have no Sunday account with the same email address, or have not used Sunday from chat yet."]),
      );
    }
    const wanted = ref.text.replace(/^@/, "").trim();
    const { users } = await call<{ users: { nodes: User[] } }>(actor, "users", { search: wanted });
    const members = users.nodes.filter((user) => user.role !== null);
    if (wanted.includes("@")) {
      const user = members.find((candidate) => normal(candidate.email) === normal(wanted));
      if (!user) throw new Answer(say(`No one with the email ${wanted} is in your Sunday organization.`));
      return user;
    }
    const found = pick(members, wanted, (user) => [user.name, user.email]);
    if (!found) throw new Answer(say(`I can't find anyone named ${quoted(wanted)} in your Sunday organization.`));
    if ("one" in found) return found.one;
    throw choose(
      `Several people match ${quoted(wanted)}: who?`,
      found.several.map((user) => ({ label: `${user.name} (${user.email})`, command: commandFor(`user:${user.id}`) })),
    );
  }

  async function assign(actor: ChatActor, command: Extract<ChatCommand, { kind: "assign" }>): Promise<ChatReply> {
    // The person first: a Teams mention can be resolved only while its message is at hand, so the
    // commands of item choices carry the user's id.
    const user = await assignee(actor, command.assignee, (userRef) => `assign ${refText(command.item, "item")} ${userRef}`);
    const id = await itemId(actor, command.item, (item) => `assign ${item} user:${user.id}`);
    for (let attempt = 1; ; attempt += 1) {
      const item = await readItem(actor, id);
      if (item.assignees.some((assigned) => assigned.id === user.id)) return say(`${user.name} is already assigned to ${quoted(item.name)}.`);
      try {
        await call(
          actor,
          "assignUsers",
          { input: { itemId: item.id, add: [user.id], expectedVersion: item.version } },
          { board: item.board.name, item: item.name },
        );
      } catch (error) {
        if (error instanceof OperationFailed && error.code === "CONFLICT" && attempt < 2) continue;
        throw error;
      }
      return { text: `Assigned ${user.name} to ${quoted(item.name)}.`, lines: [item.board.name], link: itemLink(item.board.id, item.id), ephemeral: false };
    }
  }

  function unknown(command: Extract<ChatCommand, { kind: "unknown" }>): ChatReply {
    if (command.text === "") return HELP;
    if (command.usage) return say(`To ${command.usage} write: ${USAGE[command.usage]}`, ["Type help for examples."]);
    return say(`I don't know ${quoted(clip(command.text, 80))}.`, ["Type help to see what I can do."]);
  }

  /** Runs a command to its reply: every failure becomes a reply, none escapes to the connector. */
  async function answer(work: () => Promise<ChatReply>): Promise<ChatReply> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof Answer) return error.reply;
      if (error instanceof OperationFailed) return refusal(error.code, error.detail, error.subject);
      // actAs rejects only when the gateway cannot be reached.
      return say("Sunday can't be reached right now. Try again in a moment.");
    }
  }

  return {
    run(text, actor) {
      const command = parseCommand(text);
      return answer(async () => {
        switch (command.kind) {
          case "help":
            return HELP;
          case "create":
            return create(actor, command);
          case "list":
            return list(actor, command.board);
          case "status":
            return status(actor, command.target);
          case "assign":
            return assign(actor, command);
          case "unknown":
            return unknown(command);
        }
      });
    },
    markDone(itemId, actor) {
      return answer(() =>
        changeStatus(actor, itemId, (item) => {
          for (const column of statusColumns(item.board.columns)) {
            const label = labelsOf(column).find((candidate) => /^done$/i.test(candidate.trim()));
            if (label) return { column, label };
          }
          throw new Answer(say(`${quoted(item.board.name)} has no Done status, so I can't mark ${quoted(item.name)} done.`));
        }),
      );
    },
  };
}
