// subgraphs/integrations/runtime/chat/commands/parse.ts on its own (no services): how a chat message
// reads as a command. What it promises: names with spaces work unquoted in the common cases (the
// last bare " in " splits item from board; a group only after " / " or quoted after a quoted
// board), straight and curly double quotes mark a name, id forms (board:/group:/item:/user:<uuid>)
// stand for names, command words are case-insensitive and extra spaces do not matter; an unquoted
// status keeps its words for the core to split; anything else is `unknown`, with the usage to show
// when the command word was right; and quoteName writes names back so that they parse the same.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseCommand, quoteName, type ChatCommand } from "../subgraphs/integrations/runtime/chat/commands/parse.ts";

const BOARD_ID = "6f1c2d3e-1111-4222-8333-944445555666";
const GROUP_ID = "7a2b3c4d-2222-4333-9444-a55556666777";
const ITEM_ID = "8b3c4d5e-3333-4444-a555-b66667777888";
const USER_ID = "9c4d5e6f-4444-4555-b666-c77778888999";

const name = (value: string) => ({ by: "name", name: value }) as const;
const id = (value: string) => ({ by: "id", id: value }) as const;

describe("parseCommand create", () => {
  it("splits item and board at the last bare in", () => {
    assert.deepEqual(parseCommand("create Fix login in Website"), { kind: "create", item: "Fix login", board: name("Website"), group: null });
    assert.deepEqual(parseCommand("create Log in bug in Product roadmap"), { kind: "create", item: "Log in bug", board: name("Product roadmap"), group: null });
  });

  it("takes a group after a slash", () => {
    assert.deepEqual(parseCommand("create Fix login in Website / Next sprint"), { kind: "create", item: "Fix login", board: name("Website"), group: name("Next sprint") });
  });

  it("reads straight and curly quotes, and a quoted group after a quoted board", () => {
    const expected: ChatCommand = { kind: "create", item: "Sign in page", board: name("Sign in flows"), group: name("Q1 plan") };
    assert.deepEqual(parseCommand('create "Sign in page" in "Sign in flows" "Q1 plan"'), expected);
    assert.deepEqual(parseCommand("create “Sign in page” in “Sign in flows” “Q1 plan”"), expected);
    assert.deepEqual(parseCommand('create „Sign in page“ in ”Sign in flows” “Q1 plan"'), expected);
  });

  it("does not split inside quotes", () => {
    assert.deepEqual(parseCommand('create Fix it in "Sign in"'), { kind: "create", item: "Fix it", board: name("Sign in"), group: null });
    assert.deepEqual(parseCommand('create "Check in desk" in Office'), { kind: "create", item: "Check in desk", board: name("Office"), group: null });
  });

  it("skips an in with nothing after it", () => {
    assert.deepEqual(parseCommand("create Fix login in Sign in"), { kind: "create", item: "Fix login", board: name("Sign in"), group: null });
    assert.deepEqual(parseCommand("create Fix in"), { kind: "unknown", text: "create Fix in", usage: "create" });
  });

  it("reads id forms for board and group", () => {
    assert.deepEqual(parseCommand(`create "Fix login" in board:${BOARD_ID} group:${GROUP_ID}`), { kind: "create", item: "Fix login", board: id(BOARD_ID), group: id(GROUP_ID) });
    assert.deepEqual(parseCommand(`create Fix login in BOARD:${BOARD_ID.toUpperCase()} "Backlog"`), { kind: "create", item: "Fix login", board: id(BOARD_ID), group: name("Backlog") });
  });

  it("treats a malformed id form as a name", () => {
    assert.deepEqual(parseCommand("create Fix in board:42"), { kind: "create", item: "Fix", board: name("board:42"), group: null });
  });

  it("ignores case of command words and extra spaces", () => {
    assert.deepEqual(parseCommand("  CREATE   Fix    login   IN   Website  "), { kind: "create", item: "Fix login", board: name("Website"), group: null });
  });

  it("is unknown with the create usage when the board is missing", () => {
    assert.deepEqual(parseCommand("create Fix login"), { kind: "unknown", text: "create Fix login", usage: "create" });
    assert.deepEqual(parseCommand("create in Website"), { kind: "unknown", text: "create in Website", usage: "create" });
    assert.deepEqual(parseCommand("create Fix in Website /"), { kind: "unknown", text: "create Fix in Website /", usage: "create" });
  });
});

describe("parseCommand list, help and unknown", () => {
  it("lists boards or one board", () => {
    assert.deepEqual(parseCommand("list"), { kind: "list", board: null });
    assert.deepEqual(parseCommand("List  Product   roadmap"), { kind: "list", board: name("Product roadmap") });
    assert.deepEqual(parseCommand("list “Product roadmap”"), { kind: "list", board: name("Product roadmap") });
    assert.deepEqual(parseCommand(`list board:${BOARD_ID}`), { kind: "list", board: id(BOARD_ID) });
  });

  it("reads help whatever follows", () => {
    assert.deepEqual(parseCommand("help"), { kind: "help" });
    assert.deepEqual(parseCommand("HELP create"), { kind: "help" });
    assert.deepEqual(parseCommand("?"), { kind: "help" });
  });

  it("is unknown for anything else", () => {
    assert.deepEqual(parseCommand("hello there"), { kind: "unknown", text: "hello there", usage: null });
    assert.deepEqual(parseCommand(""), { kind: "unknown", text: "", usage: null });
    assert.deepEqual(parseCommand('"create" x in y'), { kind: "unknown", text: '"create" x in y', usage: null });
  });
});

describe("parseCommand status", () => {
  it("keeps the words of an unquoted status for the core to split", () => {
    assert.deepEqual(parseCommand("status Fix login Working on it"), { kind: "status", target: { split: "open", words: ["Fix", "login", "Working", "on", "it"] } });
    assert.deepEqual(parseCommand("STATUS  Fix   Done"), { kind: "status", target: { split: "open", words: ["Fix", "Done"] } });
  });

  it("fixes the split with a quoted item, a quoted value or an item id", () => {
    const fixed = (item: ReturnType<typeof name> | ReturnType<typeof id>, value: string): ChatCommand => ({ kind: "status", target: { split: "fixed", item, value } });
    assert.deepEqual(parseCommand('status "Fix login" Working on it'), fixed(name("Fix login"), "Working on it"));
    assert.deepEqual(parseCommand("status Fix login “Working on it”"), fixed(name("Fix login"), "Working on it"));
    assert.deepEqual(parseCommand(`status item:${ITEM_ID} Done`), fixed(id(ITEM_ID), "Done"));
  });

  it("is unknown with the status usage without a value", () => {
    assert.deepEqual(parseCommand("status Fix"), { kind: "unknown", text: "status Fix", usage: "status" });
    assert.deepEqual(parseCommand('status "Fix login"'), { kind: "unknown", text: 'status "Fix login"', usage: "status" });
  });
});

describe("parseCommand assign", () => {
  it("takes a Slack mention, a Teams @name with spaces, or an email", () => {
    assert.deepEqual(parseCommand("assign Fix login <@U123ABC|ada>"), { kind: "assign", item: name("Fix login"), assignee: { by: "text", text: "<@U123ABC|ada>" } });
    assert.deepEqual(parseCommand("assign Fix login @Alan Turing"), { kind: "assign", item: name("Fix login"), assignee: { by: "text", text: "@Alan Turing" } });
    assert.deepEqual(parseCommand("assign Fix login alan@acme.example"), { kind: "assign", item: name("Fix login"), assignee: { by: "text", text: "alan@acme.example" } });
  });

  it("drops a to before the person, and reads quoted names and ids", () => {
    assert.deepEqual(parseCommand("Assign Fix login to @ada"), { kind: "assign", item: name("Fix login"), assignee: { by: "text", text: "@ada" } });
    assert.deepEqual(parseCommand('assign "Fix login" "Alan Turing"'), { kind: "assign", item: name("Fix login"), assignee: { by: "text", text: "Alan Turing" } });
    assert.deepEqual(parseCommand(`assign item:${ITEM_ID} user:${USER_ID}`), { kind: "assign", item: id(ITEM_ID), assignee: id(USER_ID) });
  });

  it("is unknown with the assign usage without a person", () => {
    assert.deepEqual(parseCommand("assign Fix login Alan"), { kind: "unknown", text: "assign Fix login Alan", usage: "assign" });
    assert.deepEqual(parseCommand("assign @ada"), { kind: "unknown", text: "assign @ada", usage: "assign" });
  });
});

describe("quoteName", () => {
  it("writes names that parse back to themselves", () => {
    for (const value of ["Fix login", "Sign in page", 'The "big" one', "Mixed “quotes” here"]) {
      const quoted = quoteName(value);
      assert.deepEqual(parseCommand(`list ${quoted}`), { kind: "list", board: name(value) }, quoted);
    }
  });
});
