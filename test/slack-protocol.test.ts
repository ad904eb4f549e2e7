// The Slack protocol layer on its own (no database, no gateway): request signatures (Slack's
// published known answer, and every way a request can fail verification), the inbound payload
// parsers (good and malformed bodies), Block Kit rendering, and the Web API client against the
// Slack-compatible loopback server (OAuth exchange, users.info, chat.postMessage, response_url, and
// how each failure is classified: 429, 5xx, refused tokens, an outage, an open breaker).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setImmediate as tick } from "node:timers/promises";
import { CHAT_ACTIONS, type ChatNotice } from "../subgraphs/integrations/runtime/chat/model.ts";
import { signSlackRequest, verifySlackRequest } from "../subgraphs/integrations/runtime/chat/slack/signature.ts";
import { commandText, parseEventsBody, parseInteraction, parseSlashCommand } from "../subgraphs/integrations/runtime/chat/slack/payloads.ts";
import { slackNoticeMessage, slackReplyMessage } from "../subgraphs/integrations/runtime/chat/slack/blocks.ts";
import { SlackCallError, createSlackClient, type SlackCallOutcome } from "../subgraphs/integrations/runtime/chat/slack/client.ts";
import { slackRequest, startSlackServer, type SlackServer } from "./support/slack-server.ts";

// https://api.slack.com/authentication/verifying-requests-from-slack
const KNOWN_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const KNOWN_TIMESTAMP = 1531420618;
const KNOWN_BODY =
  "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const KNOWN_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
const KNOWN_NOW = KNOWN_TIMESTAMP * 1000;

const bytes = (text: string) => new TextEncoder().encode(text);

function verifyKnown(overrides: Partial<Parameters<typeof verifySlackRequest>[0]> = {}) {
  return verifySlackRequest({
    signingSecret: KNOWN_SECRET,
    timestamp: String(KNOWN_TIMESTAMP),
    signature: KNOWN_SIGNATURE,
    rawBody: bytes(KNOWN_BODY),
    now: KNOWN_NOW,
    ...overrides,
  });
}

describe("Slack request signatures", () => {
  it("match Slack's published example", () => {
    assert.equal(signSlackRequest(KNOWN_SECRET, KNOWN_TIMESTAMP, KNOWN_BODY), KNOWN_SIGNATURE);
    assert.equal(signSlackRequest(KNOWN_SECRET, KNOWN_TIMESTAMP, bytes(KNOWN_BODY)), KNOWN_SIGNATURE);
    assert.deepEqual(verifyKnown(), { ok: true });
  });

  it("refuse a tampered body", () => {
    assert.deepEqual(verifyKnown({ rawBody: bytes(KNOWN_BODY.replace("U2CERLKJA", "U2CERLKJB")) }), { ok: false, reason: "signature mismatch" });
    assert.deepEqual(verifyKnown({ rawBody: bytes(`${KNOWN_BODY}&text=delete`) }), { ok: false, reason: "signature mismatch" });
  });

  it("refuse a wrong secret and a forged or malformed signature", () => {
    assert.deepEqual(verifyKnown({ signingSecret: "another-secret" }), { ok: false, reason: "signature mismatch" });
    const flipped = KNOWN_SIGNATURE.slice(0, -1) + (KNOWN_SIGNATURE.endsWith("3") ? "4" : "3");
    assert.deepEqual(verifyKnown({ signature: flipped }), { ok: false, reason: "signature mismatch" });
    for (const signature of ["v0=abc", KNOWN_SIGNATURE.replace("v0=", "v1="), `${KNOWN_SIGNATURE}00`, KNOWN_SIGNATURE.toUpperCase()]) {
      assert.equal(verifyKnown({ signature }).ok, false, signature);
    }
  });

  it("refuse stale and future timestamps, both beyond five minutes", () => {
    assert.deepEqual(verifyKnown({ now: KNOWN_NOW + 301_000 }), { ok: false, reason: "stale timestamp" });
    assert.deepEqual(verifyKnown({ now: KNOWN_NOW - 301_000 }), { ok: false, reason: "timestamp in the future" });
    assert.deepEqual(verifyKnown({ now: KNOWN_NOW + 300_000 }), { ok: true });
    assert.deepEqual(verifyKnown({ now: KNOWN_NOW - 300_000 }), { ok: true });
    assert.deepEqual(verifyKnown({ now: KNOWN_NOW + 61_000, toleranceSeconds: 60 }), { ok: false, reason: "stale timestamp" });
  });

  it("refuse a changed timestamp (the signature binds it)", () => {
    const later = String(KNOWN_TIMESTAMP + 1);
    assert.deepEqual(verifyKnown({ timestamp: later }), { ok: false, reason: "signature mismatch" });
  });

  it("refuse missing headers and a non numeric timestamp", () => {
    assert.deepEqual(verifyKnown({ signature: undefined }), { ok: false, reason: "missing X-Slack-Signature" });
    assert.deepEqual(verifyKnown({ signature: "" }), { ok: false, reason: "missing X-Slack-Signature" });
    assert.deepEqual(verifyKnown({ timestamp: undefined }), { ok: false, reason: "missing X-Slack-Request-Timestamp" });
    for (const timestamp of ["abc", "1531420618.5", "-1531420618", "1e9", " 1531420618"]) {
      assert.deepEqual(verifyKnown({ timestamp }), { ok: false, reason: "malformed timestamp" }, timestamp);
    }
    assert.equal(verifyKnown({ signingSecret: "" }).ok, false);
  });
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe("Slack payload parsers", () => {
  it("read a slash command", () => {
    const command = parseSlashCommand(KNOWN_BODY.replace("text=", "text=+create+Fix+login+in+Roadmap+"));
    assert.deepEqual(command, {
      teamId: "T1DC2JH3J",
      userId: "U2CERLKJA",
      channelId: "G8PSS9T3V",
      command: "/webhook-collect",
      text: "create Fix login in Roadmap",
      responseUrl: "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
      triggerId: "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
    });
  });

  it("refuse a malformed slash command", () => {
    const good = { team_id: "T1", user_id: "U1", channel_id: "C1", command: "/sunday", text: "help", response_url: "https://hooks.slack.com/x" };
    assert.notEqual(parseSlashCommand(form(good)), null);
    for (const missing of ["team_id", "user_id", "channel_id", "command", "response_url"]) {
      const { [missing]: _, ...rest } = good as Record<string, string>;
      assert.equal(parseSlashCommand(form(rest)), null, missing);
    }
    assert.equal(parseSlashCommand(form({ ...good, response_url: "javascript:alert(1)" })), null);
    assert.equal(parseSlashCommand(form({ ...good, response_url: "not a url" })), null);
    assert.equal(parseSlashCommand(""), null);
    assert.equal(parseSlashCommand(JSON.stringify(good)), null);
  });

  const interaction = (payload: unknown) => form({ payload: JSON.stringify(payload) });
  const click = {
    type: "block_actions",
    team: { id: "T1", domain: "acme" },
    user: { id: "U1", team_id: "T1" },
    channel: { id: "C1" },
    response_url: "https://hooks.slack.com/actions/T1/1/abc",
    actions: [
      { type: "button", action_id: `${CHAT_ACTIONS.markDone}:0`, value: "item-1" },
      { type: "button", action_id: "sunday.view_item:0", url: "https://app.example/items/1" },
      { type: "button", value: "no action id" },
      "garbage",
    ],
  };

  it("read a button press, leaving out link buttons and junk", () => {
    assert.deepEqual(parseInteraction(interaction(click)), {
      teamId: "T1",
      userId: "U1",
      channelId: "C1",
      responseUrl: "https://hooks.slack.com/actions/T1/1/abc",
      actions: [{ actionId: `${CHAT_ACTIONS.markDone}:0`, value: "item-1" }],
    });
    // Org-wide installs: no team object, the user names theirs; no channel (a button in an App Home).
    const { channel: _, response_url: __, ...bare } = click;
    assert.deepEqual(parseInteraction(interaction({ ...bare, team: null, user: { id: "U1", team_id: "T9" } })), {
      teamId: "T9",
      userId: "U1",
      channelId: null,
      responseUrl: null,
      actions: [{ actionId: `${CHAT_ACTIONS.markDone}:0`, value: "item-1" }],
    });
  });

  it("refuse malformed interactions", () => {
    assert.equal(parseInteraction(""), null);
    assert.equal(parseInteraction(form({ payload: "{not json" })), null);
    assert.equal(parseInteraction(form({ payload: "[]" })), null);
    assert.equal(parseInteraction(interaction({ ...click, type: "view_submission" })), null);
    assert.equal(parseInteraction(interaction({ ...click, user: "U1" })), null);
    assert.equal(parseInteraction(interaction({ ...click, team: null, user: { id: "U1" } })), null);
    assert.equal(parseInteraction(interaction({ ...click, actions: "mark" })), null);
    assert.equal(parseInteraction(JSON.stringify(click)), null);
  });

  const callback = (event: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ type: "event_callback", team_id: "T1", event_id: "Ev1", event_time: 1, event, ...extra });

  it("read Events API bodies", () => {
    assert.deepEqual(parseEventsBody(JSON.stringify({ type: "url_verification", token: "x", challenge: "3eZbrw1a" })), {
      kind: "url_verification",
      challenge: "3eZbrw1a",
    });
    assert.deepEqual(parseEventsBody(callback({ type: "app_mention", user: "U1", text: "<@U0BOT> help", channel: "C1", ts: "1.2" })), {
      kind: "event_callback",
      eventId: "Ev1",
      teamId: "T1",
      event: { type: "app_mention", userId: "U1", text: "<@U0BOT> help", channelId: "C1", channelType: null, botId: null, subtype: null },
    });
    const dm = parseEventsBody(callback({ type: "message", user: "U1", text: "list", channel: "D1", channel_type: "im", bot_id: "B1", subtype: "bot_message" }));
    assert.deepEqual(dm?.kind === "event_callback" && dm.event, {
      type: "message",
      userId: "U1",
      text: "list",
      channelId: "D1",
      channelType: "im",
      botId: "B1",
      subtype: "bot_message",
    });
    const edited = parseEventsBody(callback({ type: "message", subtype: "message_changed", channel: "D1", message: {} }));
    assert.deepEqual(edited?.kind === "event_callback" && edited.event, { type: "other", name: "message.message_changed" });
    const noText = parseEventsBody(callback({ type: "message", user: "U1", channel: "D1", subtype: "file_share" }));
    assert.equal(noText?.kind === "event_callback" && noText.event.type === "message" && noText.event.text, "");
    assert.deepEqual(parseEventsBody(callback({ type: "app_uninstalled" })), { kind: "event_callback", eventId: "Ev1", teamId: "T1", event: { type: "app_uninstalled" } });
    const revoked = parseEventsBody(callback({ type: "tokens_revoked", tokens: { oauth: ["U5"], bot: ["UB1", 7, ""] } }));
    assert.deepEqual(revoked?.kind === "event_callback" && revoked.event, { type: "tokens_revoked", botUserIds: ["UB1"] });
    const userOnly = parseEventsBody(callback({ type: "tokens_revoked", tokens: { oauth: ["U5"] } }));
    assert.deepEqual(userOnly?.kind === "event_callback" && userOnly.event, { type: "tokens_revoked", botUserIds: [] });
    const other = parseEventsBody(callback({ type: "reaction_added", user: "U1" }));
    assert.deepEqual(other?.kind === "event_callback" && other.event, { type: "other", name: "reaction_added" });
  });

  it("refuse malformed Events API bodies", () => {
    for (const body of [
      "",
      "not json",
      "[]",
      "null",
      JSON.stringify({ type: "url_verification" }),
      JSON.stringify({ type: "app_rate_limited", team_id: "T1" }),
      callback({ type: "app_mention" }, { event_id: undefined }),
      callback({ type: "app_mention" }, { team_id: 5 }),
      callback("app_mention"),
      callback({ user: "U1" }),
      callback([]),
    ]) {
      assert.equal(parseEventsBody(body), null, body);
    }
  });

  it("strip a leading bot mention from a command", () => {
    assert.equal(commandText("<@U0BOT> create Fix in Roadmap"), "create Fix in Roadmap");
    assert.equal(commandText("  <@U0BOT|sunday>:  list  "), "list");
    assert.equal(commandText("<@W0BOT>help"), "help");
    assert.equal(commandText("assign Fix <@U123>"), "assign Fix <@U123>");
    assert.equal(commandText("  help "), "help");
  });
});

type Block = { type: string; text?: { type: string; text: string }; elements?: { type: string; text?: unknown; action_id?: string; value?: string; url?: string }[] };
const blocksOf = (message: { blocks: unknown[] }) => message.blocks as Block[];
const buttonsOf = (message: { blocks: unknown[] }) => blocksOf(message).flatMap((block) => (block.type === "actions" ? (block.elements ?? []) : []));

function notice(overrides: Partial<ChatNotice> = {}): ChatNotice {
  return {
    eventId: "ev-1",
    kind: "item.status_changed",
    title: "Fix login",
    boardName: "Roadmap",
    actor: "Ada Lovelace",
    summary: "Status: Working on it → Done",
    url: "https://app.sunday.example/boards/b1/items/i1",
    itemId: "i1",
    occurredAt: "2026-03-01T10:15:00.000Z",
    ...overrides,
  };
}

describe("Block Kit rendering", () => {
  it("renders one notice with title, board, who, what, when and both buttons", () => {
    const message = slackNoticeMessage([notice()]);
    const sections = blocksOf(message).filter((block) => block.type === "section");
    assert.match(sections[0]?.text?.text ?? "", /^\*Fix login\*\nStatus: Working on it → Done$/);
    const context = JSON.stringify(blocksOf(message).find((block) => block.type === "context"));
    assert.match(context, /Status changed on \*Roadmap\* by Ada Lovelace/);
    assert.match(context, /<!date\^1772360100\^\{date_short_pretty\} at \{time\}\|2026-03-01 10:15:00 UTC>/);
    const [view, done] = buttonsOf(message);
    assert.equal(view?.url, "https://app.sunday.example/boards/b1/items/i1");
    assert.equal(view?.value, undefined);
    assert.equal(done?.action_id, `${CHAT_ACTIONS.markDone}:0`);
    assert.equal(done?.value, "i1");
    assert.match(message.text, /Fix login/);
    assert.match(message.text, /Roadmap/);
  });

  it("leaves out buttons it cannot offer", () => {
    assert.equal(buttonsOf(slackNoticeMessage([notice({ url: null, itemId: null, kind: "board.shared" })])).length, 0);
    assert.equal(blocksOf(slackNoticeMessage([notice({ url: null, itemId: null })])).filter((block) => block.type === "actions").length, 0);
    assert.deepEqual(
      buttonsOf(slackNoticeMessage([notice()], { markDone: false })).map((button) => button.action_id),
      ["sunday.view_item:0"],
    );
    assert.equal(buttonsOf(slackNoticeMessage([notice({ url: "javascript:alert(1)" })])).filter((button) => button.url).length, 0);
    assert.throws(() => slackNoticeMessage([]), RangeError);
  });

  it("escapes user text in mrkdwn and in the fallback", () => {
    const message = slackNoticeMessage([notice({ title: "<!here> Q&A", summary: "<https://evil.example|click>", actor: "Eve <@U1>", boardName: "R&D" })]);
    const json = JSON.stringify(message);
    assert.doesNotMatch(json, /<!here>|<https:\/\/evil|<@U1>/);
    assert.match(json, /&lt;!here&gt; Q&amp;A/);
    assert.match(json, /R&amp;D/);
    assert.match(message.text, /&lt;!here&gt;/);
  });

  it("batches a burst into one message within Slack's limits, buttons unique", () => {
    const notices = Array.from({ length: 25 }, (_, index) => notice({ eventId: `ev-${index}`, itemId: `i${index}`, title: `Item ${index}` }));
    const message = slackNoticeMessage(notices);
    const blocks = blocksOf(message);
    assert.ok(blocks.length <= 50, `${blocks.length} blocks`);
    assert.deepEqual(blocks[0], { type: "header", text: { type: "plain_text", text: "25 updates on Roadmap", emoji: true } });
    assert.equal(blocks.filter((block) => block.type === "section").length, 20);
    assert.match(JSON.stringify(blocks.at(-1)), /and 5 more/);
    const buttons = buttonsOf(message);
    const ids = buttons.map((button) => button.action_id);
    assert.equal(new Set(ids).size, ids.length);
    const done = buttons.filter((button) => button.action_id?.startsWith(`${CHAT_ACTIONS.markDone}:`));
    assert.deepEqual(
      done.map((button) => button.value),
      notices.slice(0, 20).map((item) => item.itemId),
    );
    assert.match(message.text, /^25 updates on Roadmap\n• /);
    assert.match(message.text, /and 5 more$/);
    const twoBoards = slackNoticeMessage([notice(), notice({ boardName: "Bugs" })]);
    assert.equal(blocksOf(twoBoards)[0]?.text?.text, "2 updates on Roadmap and Bugs");
    const threeBoards = slackNoticeMessage([notice(), notice({ boardName: "Bugs" }), notice({ boardName: "Ops" })]);
    assert.equal(blocksOf(threeBoards)[0]?.text?.text, "3 updates on 3 boards");
  });

  it("renders a reply with lines, choices and a link", () => {
    const reply = slackReplyMessage({
      text: "Which board did you mean?",
      lines: ["Two boards are called Roadmap.", "a < b & c"],
      choices: [
        { label: "Roadmap (Product)", command: "list board:b1" },
        { label: "Roadmap (Ops)", command: "list board:b2" },
      ],
      link: { label: "Open Sunday", url: "https://app.sunday.example/" },
      ephemeral: true,
    });
    assert.equal(reply.response_type, "ephemeral");
    assert.match(JSON.stringify(reply.blocks), /a &lt; b &amp; c/);
    const buttons = buttonsOf(reply);
    assert.deepEqual(
      buttons.filter((button) => button.value !== undefined).map((button) => [button.action_id, button.value]),
      [
        [`${CHAT_ACTIONS.choose}:0`, "list board:b1"],
        [`${CHAT_ACTIONS.choose}:1`, "list board:b2"],
      ],
    );
    assert.equal(buttons.find((button) => button.url)?.url, "https://app.sunday.example/");
    assert.equal(slackReplyMessage({ text: "Created.", ephemeral: false }).response_type, "in_channel");
  });

  it("keeps every section of a long reply under 3000 characters", () => {
    const lines = Array.from({ length: 200 }, (_, index) => `Item ${index}: ${"x".repeat(90)}`);
    const reply = slackReplyMessage({ text: "Items", lines: [...lines, "y".repeat(5000)], ephemeral: true });
    const sections = blocksOf(reply).filter((block) => block.type === "section");
    assert.ok(sections.length > 2);
    for (const section of sections) assert.ok((section.text?.text.length ?? 0) <= 3000);
    assert.ok(blocksOf(reply).length <= 50);
    assert.ok(JSON.stringify(reply.blocks).includes("Item 199"));
  });

  it("reads a pressed button back through parseInteraction", () => {
    const [, done] = buttonsOf(slackNoticeMessage([notice()]));
    const body = form({ payload: JSON.stringify({ type: "block_actions", team: { id: "T1" }, user: { id: "U1" }, actions: [{ ...done, type: "button" }] }) });
    const [action] = parseInteraction(body)?.actions ?? [];
    assert.equal(action?.actionId.split(":")[0], CHAT_ACTIONS.markDone);
    assert.equal(action?.value, "i1");
  });
});

describe("Slack client against the Slack compatible server", () => {
  let slack: SlackServer;
  const outcomes: [string, SlackCallOutcome][] = [];
  const client = () => createSlackClient({ apiUrl: slack.apiUrl, onRequest: (method, outcome) => outcomes.push([method, outcome]) });
  const install = { teamId: "T100", teamName: "Acme", userId: "U100", clientId: "111.222", clientSecret: "shh" };

  async function failure(promise: Promise<unknown>): Promise<SlackCallError> {
    const error = await promise.then(
      () => assert.fail("expected the call to fail"),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SlackCallError, String(error));
    return error;
  }

  async function botToken(): Promise<string> {
    const code = slack.issueCode(install);
    return (await client().oauthAccess({ clientId: install.clientId, clientSecret: install.clientSecret, code, redirectUri: "https://sunday.example/cb" })).accessToken;
  }

  before(async () => {
    slack = await startSlackServer();
  });
  after(() => slack.close());

  it("exchanges an OAuth code once, and refuses wrong credentials", async () => {
    const api = client();
    const code = slack.issueCode({ ...install, botToken: "xoxb-fixed" });
    const access = await api.oauthAccess({ clientId: "111.222", clientSecret: "shh", code, redirectUri: "https://sunday.example/cb" });
    assert.equal(access.accessToken, "xoxb-fixed");
    assert.equal(access.teamId, "T100");
    assert.equal(access.teamName, "Acme");
    assert.equal(access.authedUserId, "U100");
    assert.match(access.botUserId, /^U/);
    assert.match(access.appId, /^A/);
    assert.match(access.scope, /chat:write/);
    const reused = await failure(api.oauthAccess({ clientId: "111.222", clientSecret: "shh", code, redirectUri: "x" }));
    assert.equal(reused.kind, "fatal");
    assert.equal(reused.slackError, "invalid_code");
    const other = slack.issueCode(install);
    assert.equal((await failure(api.oauthAccess({ clientId: "999", clientSecret: "shh", code: other, redirectUri: "x" }))).slackError, "invalid_client_id");
    assert.equal((await failure(api.oauthAccess({ clientId: "111.222", clientSecret: "no", code: other, redirectUri: "x" }))).slackError, "bad_client_secret");
    assert.equal((await api.oauthAccess({ clientId: "111.222", clientSecret: "shh", code: other, redirectUri: "x" })).teamId, "T100");
  });

  it("reads a user's email and whether it is confirmed", async () => {
    const token = await botToken();
    slack.addUser("T100", { id: "U1", email: "ada@acme.example" });
    slack.addUser("T100", { id: "U2", email: "bob@acme.example", verified: false });
    slack.addUser("T100", { id: "U3", email: "gone@acme.example", deleted: true });
    slack.addUser("T100", { id: "U4", email: "bot@acme.example", bot: true });
    slack.addUser("T200", { id: "U5", email: "elsewhere@other.example" });
    const api = client();
    assert.deepEqual(await api.userEmail(token, "U1"), { email: "ada@acme.example", verified: true });
    assert.deepEqual(await api.userEmail(token, "U2"), { email: "bob@acme.example", verified: false });
    assert.equal(await api.userEmail(token, "U3"), null);
    assert.equal(await api.userEmail(token, "U4"), null);
    assert.equal(await api.userEmail(token, "U5"), null, "another team's user");
    assert.equal(await api.userEmail(token, "U404"), null);
  });

  it("posts a message with its blocks", async () => {
    const token = await botToken();
    const before = slack.messages.length;
    const message = slackNoticeMessage([notice()]);
    const posted = await client().postMessage(token, { channel: "C1", ...message });
    assert.equal(posted.channel, "C1");
    assert.match(posted.ts, /^\d+\.\d{6}$/);
    const [received] = (await slack.waitForMessages(before + 1)).slice(before);
    assert.equal(received?.token, token);
    assert.equal(received?.channel, "C1");
    assert.equal(received?.text, message.text);
    assert.deepEqual(received?.blocks, message.blocks);
  });

  it("classifies refusals as fatal with Slack's error", async () => {
    const api = client();
    const token = await botToken();
    const invalid = await failure(api.postMessage("xoxb-unknown", { channel: "C1", text: "hi" }));
    assert.deepEqual([invalid.kind, invalid.slackError], ["fatal", "invalid_auth"]);
    assert.equal((await failure(api.postMessage(token, { channel: "", text: "hi" }))).slackError, "channel_not_found");
    slack.revoke(token);
    const revoked = await failure(api.postMessage(token, { channel: "C1", text: "hi" }));
    assert.deepEqual([revoked.kind, revoked.slackError], ["fatal", "token_revoked"]);
    assert.equal(api.breakerState(), "closed", "refusals do not open the breaker");
  });

  it("reports 429 as rate_limited with Retry After, and 5xx as transient, without retrying", async () => {
    const api = client();
    const token = await botToken();
    const before = slack.requests("chat.postMessage");
    slack.failNext(1, { status: 429, retryAfterSeconds: 7 });
    const limited = await failure(api.postMessage(token, { channel: "C1", text: "hi" }));
    assert.equal(limited.kind, "rate_limited");
    assert.equal(limited.retryAfterMs, 7000);
    slack.failNext(1, { status: 500 });
    const broken = await failure(api.postMessage(token, { channel: "C1", text: "hi" }));
    assert.deepEqual([broken.kind, broken.status], ["transient", 500]);
    slack.failNext(1, { status: 503 });
    assert.equal((await failure(api.postMessage(token, { channel: "C1", text: "hi" }))).kind, "transient");
    assert.equal(slack.requests("chat.postMessage") - before, 3, "WebClient must not retry on its own");
    assert.equal((await api.postMessage(token, { channel: "C1", text: "after" })).channel, "C1");
  });

  it("reports an outage as transient, and recovers when the server is back", async () => {
    const api = client();
    const token = await botToken();
    await slack.down();
    try {
      const down = await failure(api.postMessage(token, { channel: "C1", text: "into the void" }));
      assert.equal(down.kind, "transient");
    } finally {
      await slack.up();
    }
    assert.equal((await api.postMessage(token, { channel: "C1", text: "back" })).channel, "C1");
  });

  it("reports a server that does not answer in time as transient", async () => {
    const silent: Server = createServer(() => {
      // Never answers.
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const api = createSlackClient({ apiUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/api/`, timeoutMs: 100 });
      const late = await failure(api.postMessage("xoxb-any", { channel: "C1", text: "hi" }));
      assert.equal(late.kind, "transient");
      assert.match(late.message, /in time/);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("opens the breaker after consecutive transient failures, then fails fast as broken", async () => {
    const token = await botToken();
    const api = createSlackClient({ apiUrl: slack.apiUrl, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 } });
    slack.failNext(3, { status: 503 });
    for (let attempt = 0; attempt < 3; attempt += 1) assert.equal((await failure(api.postMessage(token, { channel: "C1", text: "hi" }))).kind, "transient");
    assert.equal(api.breakerState(), "open");
    const before = slack.requests("chat.postMessage");
    const fast = await failure(api.postMessage(token, { channel: "C1", text: "hi" }));
    assert.equal(fast.kind, "broken");
    assert.equal(slack.requests("chat.postMessage"), before, "nothing reached Slack");
  });

  it("lets a trial call through once the breaker is half open, and closes on success", async () => {
    const token = await botToken();
    const api = createSlackClient({ apiUrl: slack.apiUrl, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1 } });
    slack.failNext(2, { status: 500 });
    for (let attempt = 0; attempt < 2; attempt += 1) await failure(api.postMessage(token, { channel: "C1", text: "hi" }));
    assert.equal(api.breakerState(), "open");
    // The breaker goes half open on the first call once its wall clock moved past halfOpenAfterMs.
    const opened = Date.now();
    while (Date.now() - opened < 2) await tick();
    assert.equal((await api.postMessage(token, { channel: "C1", text: "trial" })).channel, "C1");
    assert.equal(api.breakerState(), "closed");
  });

  it("posts to a response_url, retrying transient failures twice", async () => {
    const api = client();
    const url = slack.responseUrl();
    const before = slack.responses.length;
    await api.respond(url, slackReplyMessage({ text: "Done.", ephemeral: true }));
    const [first] = (await slack.waitForResponses(before + 1)).slice(before);
    assert.equal(first?.url, url);
    assert.equal((first?.body as { response_type?: string } | undefined)?.response_type, "ephemeral");

    const attempts = slack.requests("response_url");
    slack.failNext(2, { status: 503 }, "response_url");
    await api.respond(url, { text: "after two failures" });
    assert.equal(slack.requests("response_url") - attempts, 3);
    assert.deepEqual(slack.responses.at(-1)?.body, { text: "after two failures" });

    slack.failNext(3, { status: 500 }, "response_url");
    const exhausted = await failure(api.respond(url, { text: "lost" }));
    assert.equal(exhausted.kind, "transient");

    slack.failNext(1, { status: 429, retryAfterSeconds: 2 }, "response_url");
    const limited = await failure(api.respond(url, { text: "slow down" }));
    assert.deepEqual([limited.kind, limited.retryAfterMs], ["rate_limited", 2000]);
  });

  it("refuses an expired response_url as fatal without retrying", async () => {
    const api = client();
    const url = slack.responseUrl().replace(/[0-9a-f]{24}$/, "0".repeat(24));
    const attempts = slack.requests("response_url");
    const expired = await failure(api.respond(url, { text: "late" }));
    assert.deepEqual([expired.kind, expired.slackError, expired.status], ["fatal", "expired_url", 404]);
    assert.equal(slack.requests("response_url") - attempts, 1);
    assert.equal((await failure(api.respond("ftp://example.com/x", { text: "no" }))).kind, "fatal");
  });

  it("reports every request's outcome for metrics", () => {
    const seen = new Set(outcomes.map(([method, outcome]) => `${method} ${outcome}`));
    for (const expected of [
      "oauth.v2.access ok",
      "oauth.v2.access fatal",
      "users.info ok",
      "chat.postMessage ok",
      "chat.postMessage rate_limited",
      "chat.postMessage transient",
      "response_url ok",
      "response_url transient",
    ]) {
      assert.ok(seen.has(expected), `${expected} in ${[...seen].join(", ")}`);
    }
  });
});

describe("signed requests to our inbound endpoints", () => {
  it("carry a signature our verifier accepts, over the exact body", async () => {
    let received: { headers: Record<string, string | string[] | undefined>; body: Buffer } | undefined;
    const inbound = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        received = { headers: request.headers, body: Buffer.concat(chunks) };
        response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => inbound.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(inbound.address() as AddressInfo).port}/integrations/slack/commands`;
      const answer = await slackRequest(url, "secret", form({ team_id: "T1", text: "Ünïcode ✓" }), { headers: { "x-slack-retry-num": "1" } });
      assert.equal(answer.status, 200);
      assert.equal(answer.body, '{"ok":true}');
      assert.equal(received?.headers["content-type"], "application/x-www-form-urlencoded");
      assert.equal(received?.headers["x-slack-retry-num"], "1");
      const verdict = verifySlackRequest({
        signingSecret: "secret",
        timestamp: received?.headers["x-slack-request-timestamp"] as string,
        signature: received?.headers["x-slack-signature"] as string,
        rawBody: received?.body ?? new Uint8Array(),
      });
      assert.deepEqual(verdict, { ok: true });
      await slackRequest(url, "secret", JSON.stringify({ type: "url_verification", challenge: "c" }));
      assert.equal(received?.headers["content-type"], "application/json");
    } finally {
      inbound.closeAllConnections();
      await new Promise((resolve) => inbound.close(resolve));
    }
  });
});
