// The chat-command core (subgraphs/integrations/runtime/chat/commands/core.ts) against the real
// stack: every command runs through the gateway's POST /graphql as the chat user (a JWT minted for
// their identity), on a real database. What it promises: items are created, listed, moved through
// statuses, assigned and marked done by name, as the user; what the user may not read (a private
// board not shared with them, another organisation's board) is "not found", never hinted at; what
// they may read but not change gets a clear refusal and changes nothing; a name that fits several
// things gets choices whose commands work; every failure is a plain ephemeral reply.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { FormattedExecutionResult } from "graphql";
import { pino } from "pino";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import type { Identity, Role } from "../platform/identity.ts";
import type { DemoSeedOrganization } from "../prisma/seed.ts";
import { createCommandCore, type ChatActor, type CommandCore } from "../subgraphs/integrations/runtime/chat/commands/core.ts";
import type { ActAs, ChatReply } from "../subgraphs/integrations/runtime/chat/model.ts";
import { TEST_JWT, startHarness, type GraphQLResult, type Harness } from "./support/harness.ts";

const WEB_URL = "https://sunday.test/app";
const LABELS = ["Not started", "Working on it", "Stuck", "Done"];

const CREATE_BOARD = `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`;
const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`;
const CREATE_COLUMN = `mutation($input: CreateColumnInput!) { createColumn(input: $input) { id } }`;
const CREATE_ITEM = `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`;
const UPDATE_ITEM = `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`;
const SHARE_BOARD = `mutation($input: ShareBoardInput!) { shareBoard(input: $input) { id } }`;
const ITEMS_OF = `query($id: ID!) { board(id: $id) { items(first: 100) { nodes { id name group { id } assignees { id } columnValues { column { id } value } } } } }`;

interface TestBoard {
  id: string;
  name: string;
  groupIds: [string, string];
  statusColumnId: string;
}

interface ItemNode {
  id: string;
  name: string;
  group: { id: string };
  assignees: { id: string }[];
  columnValues: { column: { id: string }; value: unknown }[];
}

/** The data of a result that must have succeeded. */
function dataOf<T>(result: GraphQLResult, field: string): T {
  assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
  return (result.body.data as Record<string, T>)[field] as T;
}

const unique = () => randomUUID().slice(0, 8);

describe("chat commands", () => {
  let harness: Harness;
  let core: CommandCore;
  let acme: DemoSeedOrganization;
  let globex: DemoSeedOrganization;

  /** What the runtime's actAs does, over the public endpoint: the operation as the user's own request. */
  const actAs: ActAs = async (identity, operation) => {
    const token = await mintToken(identity, TEST_JWT);
    const response = await fetch(`${harness.stack.gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(operation),
    });
    const body = (await response.json()) as FormattedExecutionResult & { code?: string; detail?: string };
    if ("data" in body || "errors" in body) return body;
    // A refusal before execution comes as problem+json.
    return { errors: [{ message: body.detail ?? `gateway answered ${response.status}`, extensions: { code: body.code ?? "INTERNAL_SERVER_ERROR" } }] };
  };

  const identity = (org: DemoSeedOrganization, role: Role, userId = org.userIdsByRole[role]): Identity => ({ userId, organizationId: org.id, role });
  const actor = (who: Identity, mentions: Record<string, string> = {}): ChatActor => ({
    identity: who,
    surface: "slack",
    async resolveMention(raw) {
      return mentions[raw] ?? null;
    },
  });
  const owner = () => actor(identity(acme, "OWNER"));
  /** A MEMBER no private board is shared with. */
  const outsider = () => {
    const user = acme.users.find((candidate) => candidate.name === "Dennis Ritchie");
    assert.ok(user);
    return actor(identity(acme, "MEMBER", user.id));
  };
  const userId = (name: string) => {
    const user = acme.users.find((candidate) => candidate.name === name);
    assert.ok(user, name);
    return user.id;
  };

  async function ownerToken(org: 0 | 1 = 0) {
    return harness.token(org, "OWNER");
  }

  /** A board with two groups and a status column, made by the organisation's OWNER. */
  async function makeBoard(name: string, kind: "PUBLIC" | "PRIVATE" = "PUBLIC", org: 0 | 1 = 0): Promise<TestBoard> {
    const token = await ownerToken(org);
    const workspaceId = harness.seed.organizations[org].workspaceId;
    const board = dataOf<{ id: string }>(await harness.gql(token, CREATE_BOARD, { input: { workspaceId, name, kind } }), "createBoard");
    const first = dataOf<{ id: string }>(await harness.gql(token, CREATE_GROUP, { input: { boardId: board.id, name: "To do" } }), "createGroup");
    const second = dataOf<{ id: string }>(await harness.gql(token, CREATE_GROUP, { input: { boardId: board.id, name: "Later" } }), "createGroup");
    const column = dataOf<{ id: string }>(
      await harness.gql(token, CREATE_COLUMN, { input: { boardId: board.id, title: "Status", type: "STATUS", settings: { labels: LABELS.map((label) => ({ label, color: "#c4c4c4" })) } } }),
      "createColumn",
    );
    return { id: board.id, name, groupIds: [first.id, second.id], statusColumnId: column.id };
  }

  async function makeItem(board: TestBoard, name: string, org: 0 | 1 = 0): Promise<string> {
    const result = await harness.gql(await ownerToken(org), CREATE_ITEM, { input: { boardId: board.id, groupId: board.groupIds[0], name } });
    return dataOf<{ id: string }>(result, "createItem").id;
  }

  async function itemsOf(board: TestBoard): Promise<ItemNode[]> {
    const found = dataOf<{ items: { nodes: ItemNode[] } }>(await harness.gql(await ownerToken(), ITEMS_OF, { id: board.id }), "board");
    return found.items.nodes;
  }

  async function itemNamed(board: TestBoard, name: string): Promise<ItemNode> {
    const item = (await itemsOf(board)).find((candidate) => candidate.name === name);
    assert.ok(item, `${name} on ${board.name}`);
    return item;
  }

  const statusOf = (board: TestBoard, item: ItemNode) => {
    const value = item.columnValues.find((entry) => entry.column.id === board.statusColumnId)?.value as { label?: string } | undefined;
    return value?.label ?? null;
  };

  /** A refusal or not-found: for the asker only, with no link and nothing to press. */
  function assertPrivateReply(reply: ChatReply, text: RegExp) {
    assert.match(reply.text, text);
    assert.equal(reply.ephemeral, true);
    assert.equal(reply.link, undefined);
    assert.equal(reply.choices, undefined);
  }

  before(async () => {
    harness = await startHarness("chat_commands", { itemsPerBoard: 5, logger: pino({ level: "error" }) });
    acme = harness.seed.organizations[0];
    globex = harness.seed.organizations[1];
    core = createCommandCore({ actAs, webUrl: `${WEB_URL}/` });
  });
  after(() => harness?.dispose());

  describe("create", () => {
    it("creates an item as a MEMBER a private board is shared with, and links to it", async () => {
      const board = await makeBoard(`Chat private ${unique()}`, "PRIVATE");
      await harness.gql(await ownerToken(), SHARE_BOARD, { input: { boardId: board.id, userId: acme.userIdsByRole.MEMBER, permission: "EDITOR" } });
      const reply = await core.run(`create Fix login in ${board.name.toUpperCase()}`, actor(identity(acme, "MEMBER")));
      assert.equal(reply.ephemeral, false, reply.text);
      assert.match(reply.text, /Created “Fix login” in .* \/ To do/);
      const item = await itemNamed(board, "Fix login");
      assert.equal(item.group.id, board.groupIds[0]);
      assert.deepEqual(reply.link, { label: "View item", url: `${WEB_URL}/boards/${board.id}/items/${item.id}` });
    });

    it("creates an item as the OWNER in a named group, with names in curly quotes", async () => {
      const board = await makeBoard(`Chat in public ${unique()}`);
      const reply = await core.run(`create “Sign in page” in “${board.name}” “later”`, owner());
      assert.equal(reply.ephemeral, false, reply.text);
      assert.equal((await itemNamed(board, "Sign in page")).group.id, board.groupIds[1]);
      // The board's name has an " in " of its own: unquoted, the last one would split it.
      const slashed = await core.run(`create Log in bug in "${board.name}" / Later`, owner());
      assert.equal(slashed.ephemeral, false, slashed.text);
      assert.equal((await itemNamed(board, "Log in bug")).group.id, board.groupIds[1]);
      assertPrivateReply(await core.run(`create X in ${board.name} / Someday`, owner()), /has no group named “Someday”/);
    });

    it("refuses a VIEWER clearly and creates nothing", async () => {
      const board = await makeBoard(`Chat readonly ${unique()}`);
      const reply = await core.run(`create Fix login in ${board.name}`, actor(identity(acme, "VIEWER")));
      assertPrivateReply(reply, new RegExp(`You can view “${board.name}” but not change it`));
      assert.deepEqual(await itemsOf(board), []);
    });
  });

  describe("what the user cannot read", () => {
    it("is not found for a GUEST and a MEMBER without the share, without hinting that it exists", async () => {
      const board = await makeBoard(`Chat secret ${unique()}`, "PRIVATE");
      await makeItem(board, "Hidden plan");
      const replies = [
        await core.run(`create Fix login in ${board.name}`, actor(identity(acme, "GUEST"))),
        await core.run(`list ${board.name}`, outsider()),
        await core.run(`list board:${board.id}`, outsider()),
        await core.run(`create Leak in board:${board.id}`, actor(identity(acme, "GUEST"))),
        await core.run("status Hidden plan Done", outsider()),
      ];
      for (const reply of replies) {
        assertPrivateReply(reply, /can't find/);
        assert.doesNotMatch(`${reply.text} ${(reply.lines ?? []).join(" ")}`, /view|permission|private|not allowed|change/i);
      }
      assert.deepEqual(
        (await itemsOf(board)).map((item) => item.name),
        ["Hidden plan"],
      );
    });

    it("never finds another organization's board or item", async () => {
      const rival = await makeBoard(`Chat rival ${unique()}`, "PUBLIC", 1);
      const rivalItem = await makeItem(rival, "Rival launch", 1);
      for (const text of [`list ${rival.name}`, `create Spy in ${rival.name}`, `list board:${rival.id}`, `create Spy in board:${rival.id}`, "status Rival launch Done"]) {
        assertPrivateReply(await core.run(text, owner()), /can't find/);
      }
      assertPrivateReply(await core.run(`status item:${rivalItem} Done`, owner()), /no longer exists, or you can't see it/);
      assertPrivateReply(await core.markDone(rivalItem, owner()), /no longer exists, or you can't see it/);
      const untouched = dataOf<{ items: { nodes: ItemNode[] } }>(await harness.gql(await ownerToken(1), ITEMS_OF, { id: rival.id }), "board");
      assert.deepEqual(
        untouched.items.nodes.map((item) => [item.name, item.columnValues.length]),
        [["Rival launch", 0]],
      );
      assert.ok(globex.id !== acme.id);
    });
  });

  describe("ambiguous names", () => {
    it("offers a choice between boards of the same name, and the chosen command works", async () => {
      const name = `Chat twin ${unique()}`;
      const first = await makeBoard(name);
      const second = await makeBoard(name);
      const reply = await core.run(`create Plan sprint in ${name}`, owner());
      assert.equal(reply.ephemeral, true);
      assert.match(reply.text, /Several boards match/);
      assert.deepEqual(new Set(reply.choices?.map((choice) => choice.command)), new Set([`create "Plan sprint" in board:${first.id}`, `create "Plan sprint" in board:${second.id}`]));
      const chosen = reply.choices?.find((choice) => choice.command.endsWith(second.id));
      assert.ok(chosen);
      assert.equal(chosen.label, `${name} (Product)`);
      const created = await core.run(chosen.command, owner());
      assert.equal(created.ephemeral, false, created.text);
      assert.deepEqual(await itemsOf(first), []);
      assert.deepEqual(
        (await itemsOf(second)).map((item) => item.name),
        ["Plan sprint"],
      );
    });

    it("lets an exact name win over partial ones, and offers a choice between partial ones", async () => {
      const name = `Chat duo ${unique()}`;
      const exact = await makeBoard(name);
      await makeBoard(`${name} alpha`);
      await makeBoard(`${name} beta`);
      await makeItem(exact, "Only here");
      const listed = await core.run(`list ${name.toLowerCase()}`, owner());
      assert.equal(listed.text, `Items of ${name}`);
      const partial = await core.run(`list ${name.slice(0, -2)}`, owner());
      assert.equal(partial.choices?.length, 3);
      const alpha = await core.run(`list ${name} alp`, owner());
      assert.equal(alpha.text, `${name} alpha has no items yet.`);
    });

    it("offers a choice between items of the same name on different boards", async () => {
      const tag = unique();
      const first = await makeBoard(`Chat deploy one ${tag}`);
      const second = await makeBoard(`Chat deploy two ${tag}`);
      const itemName = `Deploy ${tag}`;
      await makeItem(first, itemName);
      const target = await makeItem(second, itemName);
      const reply = await core.run(`status ${itemName} Done`, owner());
      assert.deepEqual(reply.choices?.map((choice) => choice.command).sort(), [`status item:${await itemNamed(first, itemName).then((item) => item.id)} Done`, `status item:${target} Done`].sort());
      const done = await core.run(`status item:${target} Done`, owner());
      assert.equal(done.ephemeral, false, done.text);
      assert.equal(statusOf(second, await itemNamed(second, itemName)), "Done");
      assert.equal(statusOf(first, await itemNamed(first, itemName)), null);
    });
  });

  describe("list", () => {
    it("lists the boards the user can read", async () => {
      const all = await core.run("list", owner());
      assert.equal(all.ephemeral, true);
      assert.ok((all.lines ?? []).length > 0 && (all.lines ?? []).length <= 21);
      const guest = await core.run("list", actor(identity(acme, "GUEST")));
      assert.equal(guest.text, "Boards you can see");
      assert.deepEqual(guest.lines, ["• Product roadmap"]);
    });

    it("lists a board's items with their status, at most 20", async () => {
      const board = await makeBoard(`Chat list ${unique()}`);
      await makeItem(board, "First task");
      await makeItem(board, "Second task");
      assert.equal((await core.run('status "First task" stuck', owner())).ephemeral, false);
      const reply = await core.run(`list ${board.name}`, actor(identity(acme, "VIEWER")));
      assert.equal(reply.ephemeral, true);
      assert.deepEqual(reply.lines, ["• First task — Stuck", "• Second task — no status"]);

      const big = await makeBoard(`Chat big ${unique()}`);
      for (let index = 1; index <= 23; index += 1) await makeItem(big, `Task ${index}`);
      const long = await core.run(`list ${big.name}`, owner());
      assert.equal(long.text, `The first 20 items of ${big.name}`);
      assert.equal(long.lines?.length, 20);
      assert.equal(long.lines?.[0], "• Task 1 — no status");
    });
  });

  describe("status", () => {
    it("finds the longest status at the end, and prefers the exact item", async () => {
      const board = await makeBoard(`Chat status ${unique()}`);
      const tag = unique();
      await makeItem(board, `Fix login ${tag}`);
      await makeItem(board, `Fix login ${tag} page`);
      const reply = await core.run(`status fix login ${tag} working on it`, actor(identity(acme, "ADMIN")));
      assert.equal(reply.ephemeral, false, reply.text);
      assert.equal(reply.text, `“Fix login ${tag}” is now Working on it.`);
      assert.equal(statusOf(board, await itemNamed(board, `Fix login ${tag}`)), "Working on it");
      assert.equal(statusOf(board, await itemNamed(board, `Fix login ${tag} page`)), null);
      assert.match(reply.link?.url ?? "", new RegExp(`^${WEB_URL}/boards/${board.id}/items/`));
      const again = await core.run(`status "Fix login ${tag}" Working on it`, owner());
      assert.equal(again.text, `“Fix login ${tag}” is already Working on it.`);
    });

    it("lists the labels when the status is unknown", async () => {
      const board = await makeBoard(`Chat labels ${unique()}`);
      const tag = unique();
      await makeItem(board, `Ship ${tag}`);
      const reply = await core.run(`status Ship ${tag} Blocked forever`, owner());
      assertPrivateReply(reply, new RegExp(`“Blocked forever” is not a status on “${board.name}”`));
      assert.deepEqual(reply.lines, [`Statuses: ${LABELS.join(", ")}`]);
      assert.equal(statusOf(board, await itemNamed(board, `Ship ${tag}`)), null);
      assertPrivateReply(await core.run(`status Nothing ${tag} Done`, owner()), /can't find an item named/);
    });

    it("tries once more after a concurrent change, and then gives up clearly", async () => {
      const board = await makeBoard(`Chat race ${unique()}`);
      const item = await makeItem(board, "Contended");
      let writes = 0;
      let interfere = 1;
      /** Someone else renames the item just before each of the core's first `interfere` writes. */
      const racing: ActAs = async (who, operation) => {
        if (operation.operationName === "ChatSetStatus") {
          writes += 1;
          if (writes <= interfere) {
            const { version } = await harness.prisma.item.findUniqueOrThrow({ where: { id: item } });
            const renamed = await harness.gql(await ownerToken(), UPDATE_ITEM, { input: { id: item, expectedVersion: version, name: `Contended ${writes}` } });
            dataOf(renamed, "updateItem");
          }
        }
        return actAs(who, operation);
      };
      const racingCore = createCommandCore({ actAs: racing, webUrl: WEB_URL });
      const retried = await racingCore.run(`status item:${item} Stuck`, owner());
      assert.equal(retried.ephemeral, false, retried.text);
      assert.equal(writes, 2);
      assert.equal(statusOf(board, await itemNamed(board, "Contended 1")), "Stuck");

      writes = 0;
      interfere = 2;
      assertPrivateReply(await racingCore.run(`status item:${item} Done`, owner()), /was changed by someone else at the same moment/);
      assert.equal(writes, 2);
      assert.equal(statusOf(board, await itemNamed(board, "Contended 2")), "Stuck");
    });

    it("refuses a VIEWER", async () => {
      const board = await makeBoard(`Chat view status ${unique()}`);
      const tag = unique();
      await makeItem(board, `Audit ${tag}`);
      assertPrivateReply(await core.run(`status Audit ${tag} Done`, actor(identity(acme, "VIEWER"))), /You can view .* but not change it/);
      assert.equal(statusOf(board, await itemNamed(board, `Audit ${tag}`)), null);
    });
  });

  describe("assign", () => {
    it("assigns by mention and by email", async () => {
      const board = await makeBoard(`Chat assign ${unique()}`);
      const tag = unique();
      const itemName = `Review ${tag}`;
      await makeItem(board, itemName);
      const margaret = userId("Margaret Hamilton");
      const byMention = await core.run(`assign ${itemName} to <@U42>`, actor(identity(acme, "MEMBER"), { "<@U42>": margaret }));
      assert.equal(byMention.ephemeral, false, byMention.text);
      assert.equal(byMention.text, `Assigned Margaret Hamilton to “${itemName}”.`);
      const byEmail = await core.run(`assign "${itemName}" dennis@acme.example`, owner());
      assert.equal(byEmail.ephemeral, false, byEmail.text);
      assert.deepEqual(new Set((await itemNamed(board, itemName)).assignees.map((user) => user.id)), new Set([margaret, userId("Dennis Ritchie")]));
      const again = await core.run(`assign ${itemName} @Margaret`, owner());
      assert.equal(again.text, `Margaret Hamilton is already assigned to “${itemName}”.`);
    });

    it("says so when the person is unknown, or not in the organization", async () => {
      const board = await makeBoard(`Chat nobody ${unique()}`);
      const tag = unique();
      await makeItem(board, `Plan ${tag}`);
      assertPrivateReply(await core.run(`assign Plan ${tag} nobody@acme.example`, owner()), /No one with the email nobody@acme.example/);
      assertPrivateReply(await core.run(`assign Plan ${tag} <@U404>`, owner()), /can't tell which Sunday user/);
      const homer = globex.users.find((user) => user.name === "Homer Simpson");
      assert.ok(homer);
      assertPrivateReply(await core.run(`assign Plan ${tag} homer@globex.example`, owner()), /No one with the email/);
      assertPrivateReply(await core.run(`assign Plan ${tag} user:${homer.id}`, owner()), /not a member of your Sunday organization/);
      assert.deepEqual((await itemNamed(board, `Plan ${tag}`)).assignees, []);
    });
  });

  describe("markDone", () => {
    it("marks an item done once, and says so the second time", async () => {
      const board = await makeBoard(`Chat done ${unique()}`);
      const item = await makeItem(board, "Finish docs");
      const first = await core.markDone(item, actor(identity(acme, "MEMBER")));
      assert.equal(first.ephemeral, false, first.text);
      assert.equal(first.text, "“Finish docs” is now Done.");
      assert.equal(statusOf(board, await itemNamed(board, "Finish docs")), "Done");
      const second = await core.markDone(item, actor(identity(acme, "MEMBER")));
      assertPrivateReply(second, /is already Done/);
    });

    it("refuses a VIEWER and a board without a Done status", async () => {
      const board = await makeBoard(`Chat done view ${unique()}`);
      const item = await makeItem(board, "Read only");
      assertPrivateReply(await core.markDone(item, actor(identity(acme, "VIEWER"))), /You can view .* but not change it/);
      const plain = dataOf<{ id: string }>(await harness.gql(await ownerToken(), CREATE_BOARD, { input: { workspaceId: acme.workspaceId, name: `Chat plain ${unique()}` } }), "createBoard");
      const group = dataOf<{ id: string }>(await harness.gql(await ownerToken(), CREATE_GROUP, { input: { boardId: plain.id, name: "All" } }), "createGroup");
      const plainItem = dataOf<{ id: string }>(await harness.gql(await ownerToken(), CREATE_ITEM, { input: { boardId: plain.id, groupId: group.id, name: "No status" } }), "createItem");
      assertPrivateReply(await core.markDone(plainItem.id, owner()), /has no Done status/);
      assertPrivateReply(await core.markDone("not-an-id", owner()), /no longer exists/);
    });
  });

  describe("help and the rest", () => {
    it("answers help with the commands and examples", async () => {
      const reply = await core.run("HELP", owner());
      assert.equal(reply.ephemeral, true);
      for (const command of ["create", "list", "status", "assign", "help"])
        assert.ok(
          reply.lines?.some((line) => line.startsWith(command)),
          command,
        );
      assert.deepEqual(await core.run("", owner()), reply);
    });

    it("answers an unknown command and a wrong use of a known one", async () => {
      assertPrivateReply(await core.run("make me a sandwich", owner()), /I don't know “make me a sandwich”/);
      assertPrivateReply(await core.run("create Fix login", owner()), /To create write: create <item> in <board>/);
    });

    it("answers plainly when the gateway cannot be reached", async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const address = server.address();
      assert.ok(address && typeof address === "object");
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const unreachable = createCommandCore({
        webUrl: WEB_URL,
        actAs: async (_identity, operation) => {
          const response = await fetch(`http://127.0.0.1:${address.port}/graphql`, { method: "POST", body: JSON.stringify(operation) });
          return (await response.json()) as FormattedExecutionResult;
        },
      });
      assertPrivateReply(await unreachable.run("list", owner()), /can't be reached/);
    });
  });
});
