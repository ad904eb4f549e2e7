// The Slack app end to end: real stack (Postgres, Redis), the integrations runtime behind the
// gateway, a Slack-compatible server on loopback, and the Kafka pipeline for notifications.
// What it promises: only requests Slack signed (fresh, untampered) change anything; the install is
// an org admin's, bound to one organisation, with the token sealed at rest; chat users act as the
// Sunday user their confirmed email maps to, with that user's rights (VIEWER refused, unmapped
// users told to link, other organisations' users never mapped); retried events change nothing;
// notifications arrive once, in Block Kit, only for boards the channel may hear about, after a 429
// storm and after an outage; uninstalling stops everything.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startChatHarness, SLACK_APP, type ChatHarness } from "./support/chat.ts";
import { waitFor } from "./support/wait.ts";

const TEAM = "T0SUNDAY1";
const CHANNEL = "C0UPDATES";

const eventBody = (teamId: string, event: Record<string, unknown>, eventId = `Ev${randomUUID().replaceAll("-", "").slice(0, 12).toUpperCase()}`) =>
  JSON.stringify({ token: "x", team_id: teamId, api_app_id: "A0SUNDAY", type: "event_callback", event_id: eventId, event_time: Math.floor(Date.now() / 1000), event });

interface Block {
  type: string;
  elements?: { action_id?: string; value?: string; url?: string }[];
}

describe("Slack app", () => {
  let chat: ChatHarness;
  const slackIdOf = new Map<string, string>();

  before(async () => {
    chat = await startChatHarness("chat_slack", { pipeline: true });
    // Slack users with confirmed emails of org 0's role holders, one unconfirmed, one stranger, and one with org 1's owner's email.
    for (const role of ["OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST"] as const) {
      const user = await chat.user(0, role);
      const slackId = `U0${role}`;
      slackIdOf.set(role, slackId);
      chat.slack.addUser(TEAM, { id: slackId, email: user.email, verified: true });
    }
    // A MEMBER without the private board's share.
    const organization = chat.harness.seed.organizations[0];
    const unshared = organization.users.find((user) => user.role === "MEMBER" && !organization.boards[1].members.some((member) => member.userId === user.id));
    if (!unshared) throw new Error("the seed has no MEMBER without the private board's share");
    slackIdOf.set("UNSHARED", "U0UNSHARED");
    chat.slack.addUser(TEAM, { id: "U0UNSHARED", email: unshared.email, verified: true });
    chat.slack.addUser(TEAM, { id: "U0UNCONFIRMED", email: (await chat.user(0, "ADMIN")).email, verified: false });
    chat.slack.addUser(TEAM, { id: "U0STRANGER", email: "nobody@elsewhere.example", verified: true });
    chat.slack.addUser(TEAM, { id: "U0OTHERORG", email: (await chat.user(1, "OWNER")).email, verified: true });
  });
  after(() => chat?.dispose());

  describe("inbound requests", () => {
    it("echo the url_verification challenge of a signed request", async () => {
      const answer = await chat.slackPost("events", JSON.stringify({ token: "x", challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", type: "url_verification" }));
      assert.equal(answer.status, 200);
      assert.equal(JSON.parse(answer.body).challenge, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    });

    it("refuse a wrong secret, a stale or future timestamp, a tampered body, and no signature, with 401 problem+json", async () => {
      const body = JSON.stringify({ token: "x", challenge: "c", type: "url_verification" });
      const now = Math.floor(Date.now() / 1000);
      const refused = [
        await chat.slackPost("events", body, { signingSecret: "not-the-secret" }),
        await chat.slackPost("events", body, { timestamp: now - 6 * 60 }),
        await chat.slackPost("events", body, { timestamp: now + 6 * 60 }),
      ];
      const tampered = await fetch(new URL("/integrations/slack/events", chat.gatewayUrl), {
        method: "POST",
        headers: { "content-type": "application/json", "x-slack-request-timestamp": String(now), "x-slack-signature": `v0=${"0".repeat(64)}` },
        body,
      });
      const unsigned = await fetch(new URL("/integrations/slack/commands", chat.gatewayUrl), { method: "POST", body: "text=help" });
      for (const answer of refused) assert.equal(answer.status, 401, answer.body);
      for (const response of [tampered, unsigned]) {
        assert.equal(response.status, 401);
        assert.equal(response.headers.get("content-type"), "application/problem+json");
      }
    });

    it("refuse a command whose body was changed after signing, and create nothing", async () => {
      const owner = slackIdOf.get("OWNER") ?? "";
      const name = `Tampered ${randomUUID().slice(0, 8)}`;
      const signed = new URLSearchParams({ team_id: TEAM, user_id: owner, command: "/sunday", text: "help", response_url: chat.slack.responseUrl(), trigger_id: "1.2.3" });
      const { signSlackRequest } = await import("../subgraphs/integrations/runtime/chat/slack/signature.ts");
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = signSlackRequest(SLACK_APP.signingSecret, timestamp, signed.toString());
      signed.set("text", `create ${name} in Website`);
      const response = await fetch(new URL("/integrations/slack/commands", chat.gatewayUrl), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": String(timestamp), "x-slack-signature": signature },
        body: signed.toString(),
      });
      assert.equal(response.status, 401);
      await chat.runtime.drain();
      assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 0);
    });
  });

  describe("the runtime's doors", () => {
    it("refuse a Slack-signed request that did not come through the gateway", async () => {
      const { slackRequest } = await import("./support/slack-server.ts");
      const body = JSON.stringify({ token: "x", challenge: "direct", type: "url_verification" });
      const direct = await slackRequest(new URL("/integrations/slack/events", chat.inboundUrl).toString(), SLACK_APP.signingSecret, body);
      assert.equal(direct.status, 401);
    });

    it("POST /internal/graphql refuses unsigned, identity-less and replayed requests", async () => {
      const { signInternalRequest } = await import("../platform/identity.ts");
      const { TEST_SIGNING_SECRET } = await import("./support/harness.ts");
      const url = new URL("/internal/graphql", chat.gatewayUrl);
      const body = JSON.stringify({ query: "{ me { id } }" });
      const post = (headers: Record<string, string>) => fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
      assert.equal((await post({})).status, 401);
      const anonymous = signInternalRequest({ method: "POST", path: "/internal/graphql", body, identity: null, correlationId: "test-anonymous" }, TEST_SIGNING_SECRET);
      assert.equal((await post(anonymous)).status, 401);
      const owner = await chat.user(0, "OWNER");
      const identity = { userId: owner.id, organizationId: owner.organizationId, role: "OWNER" as const };
      const forged = signInternalRequest({ method: "POST", path: "/internal/graphql", body, identity, correlationId: "test-forged" }, "not-the-internal-secret");
      assert.equal((await post(forged)).status, 401);
      const signed = signInternalRequest({ method: "POST", path: "/internal/graphql", body, identity, correlationId: "test-signed" }, TEST_SIGNING_SECRET);
      const first = await post(signed);
      assert.equal(first.status, 200);
      assert.deepEqual(((await first.json()) as { data: unknown }).data, { me: { id: owner.id } });
      assert.equal((await post(signed)).status, 401, "a replayed signed request is refused");
    });
  });

  describe("install", () => {
    it("is for OWNER and ADMIN only, and needs a signed-in user", async () => {
      for (const role of ["MEMBER", "VIEWER", "GUEST"] as const) assert.equal((await chat.slackInstallLink(0, role)).status, 403, role);
      const anonymous = await fetch(new URL("/integrations/slack/install", chat.gatewayUrl), { redirect: "manual" });
      assert.equal(anonymous.status, 401);
      const admin = await chat.slackInstallLink(0, "ADMIN", { channel: CHANNEL });
      assert.equal(admin.status, 200);
      const url = new URL(admin.body.url ?? "");
      assert.equal(url.searchParams.get("client_id"), SLACK_APP.clientId);
      assert.match(url.searchParams.get("scope") ?? "", /chat:write/);
      assert.equal(url.searchParams.get("redirect_uri"), new URL("/integrations/slack/oauth/callback", chat.gatewayUrl).toString());
    });

    it("refuses a forged state, and binds nothing", async () => {
      const code = chat.slack.issueCode({ teamId: "T0FORGED", teamName: "Forged", userId: "U1", ...SLACK_APP });
      const forged = new URL("/integrations/slack/oauth/callback", chat.gatewayUrl);
      forged.searchParams.set("code", code);
      forged.searchParams.set("state", "eyJhbGciOiJIUzI1NiJ9.eyJvcmciOiJ4In0.c2lnbmF0dXJl");
      const response = await fetch(forged);
      assert.equal(response.status, 403);
      assert.equal(await chat.harness.prisma.chatInstallation.count({ where: { externalId: "T0FORGED" } }), 0);
    });

    it("binds the team to the organisation, seals the bot token and switches the integration on", async () => {
      const installed = await chat.installSlack(0, { teamId: TEAM, teamName: "Acme Slack", channel: CHANNEL });
      assert.equal(installed.status, 200, JSON.stringify(installed.body));
      const row = await chat.harness.prisma.chatInstallation.findFirstOrThrow({ where: { externalId: TEAM } });
      assert.equal(row.organizationId, chat.harness.seed.organizations[0].id);
      assert.ok(row.botToken && !row.botToken.includes("xoxb-"), "the bot token is sealed at rest");
      const integration = await chat.harness.prisma.integration.findUniqueOrThrow({ where: { id: String(installed.body.integrationId) } });
      assert.equal(integration.enabled, true);
      assert.deepEqual(integration.config, { installationId: row.id, teamId: TEAM, channel: CHANNEL });
    });

    it("refuses a second organisation installing the same team", async () => {
      const other = await chat.installSlack(1, { teamId: TEAM });
      assert.equal(other.status, 409);
      const row = await chat.harness.prisma.chatInstallation.findFirstOrThrow({ where: { externalId: TEAM } });
      assert.equal(row.organizationId, chat.harness.seed.organizations[0].id);
    });
  });

  describe("commands", () => {
    const publicBoard = () => chat.harness.seed.organizations[0].boards[0];

    it("create an item as the mapped user, and answer on response_url", async () => {
      const name = `From Slack ${randomUUID().slice(0, 8)}`;
      const before = chat.slack.responses.length;
      const sent = await chat.slashCommand(TEAM, slackIdOf.get("OWNER") ?? "", `create ${name} in "${publicBoard().name}"`);
      assert.equal(sent.status, 200);
      await chat.runtime.drain();
      const item = await chat.harness.prisma.item.findFirstOrThrow({ where: { name } });
      assert.equal(item.boardId, publicBoard().id);
      assert.equal(item.creatorId, chat.harness.seed.organizations[0].userIdsByRole.OWNER);
      const [response] = (await chat.slack.waitForResponses(before + 1)).slice(before);
      assert.match(JSON.stringify(response?.body), new RegExp(name));
    });

    it("refuse a VIEWER's write with a clear reply, and create nothing", async () => {
      const name = `Viewer try ${randomUUID().slice(0, 8)}`;
      const before = chat.slack.responses.length;
      await chat.slashCommand(TEAM, slackIdOf.get("VIEWER") ?? "", `create ${name} in "${publicBoard().name}"`);
      await chat.runtime.drain();
      assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 0);
      const [response] = (await chat.slack.waitForResponses(before + 1)).slice(before);
      assert.equal((response?.body as { response_type?: string } | undefined)?.response_type, "ephemeral");
    });

    it("tell unmapped users to link their account: unknown email, unconfirmed email, another organisation's user", async () => {
      for (const slackId of ["U0STRANGER", "U0UNCONFIRMED", "U0OTHERORG"]) {
        const name = `Unmapped ${randomUUID().slice(0, 8)}`;
        const before = chat.slack.responses.length;
        await chat.slashCommand(TEAM, slackId, `create ${name} in "${publicBoard().name}"`);
        await chat.runtime.drain();
        assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 0, slackId);
        const [response] = (await chat.slack.waitForResponses(before + 1)).slice(before);
        assert.match(JSON.stringify(response?.body), /which Sunday user you are/, slackId);
      }
      assert.equal(await chat.harness.prisma.chatUserLink.count({ where: { externalUserId: { in: ["U0STRANGER", "U0UNCONFIRMED", "U0OTHERORG"] } } }), 0);
    });

    it("do not reveal a private board to a GUEST or a MEMBER without the share", async () => {
      const privateBoard = chat.harness.seed.organizations[0].boards[1];
      const itemNames = await chat.harness.prisma.item.findMany({ where: { boardId: privateBoard.id }, select: { name: true }, take: 5 });
      for (const who of ["GUEST", "UNSHARED"]) {
        const before = chat.slack.responses.length;
        const name = `Sneaky ${randomUUID().slice(0, 8)}`;
        await chat.slashCommand(TEAM, slackIdOf.get(who) ?? "", `list "${privateBoard.name}"`);
        await chat.slashCommand(TEAM, slackIdOf.get(who) ?? "", `create ${name} in "${privateBoard.name}"`);
        await chat.runtime.drain();
        const answers = (await chat.slack.waitForResponses(before + 2)).slice(before).map((response) => JSON.stringify(response.body));
        for (const text of answers) {
          assert.match(text, /(not find|no board|couldn't find|can't find)/i, who);
          for (const item of itemNames) assert.ok(!text.includes(item.name), `${who}: no item of the private board is listed`);
        }
        assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 0, who);
      }
    });

    it("run an app mention once, even when Slack retries the event", async () => {
      const name = `Mentioned ${randomUUID().slice(0, 8)}`;
      const before = chat.slack.messages.length;
      const body = eventBody(TEAM, { type: "app_mention", user: slackIdOf.get("MEMBER"), text: `<@U0BOT> create ${name} in "${publicBoard().name}"`, channel: "C0TALK", ts: "1.1" });
      assert.equal((await chat.slackPost("events", body)).status, 200);
      assert.equal((await chat.slackPost("events", body, { headers: { "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" } })).status, 200);
      await chat.runtime.drain();
      assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 1);
      const replies = (await chat.slack.waitForMessages(before + 1)).slice(before).filter((message) => message.channel === "C0TALK");
      assert.equal(replies.length, 1);
    });
  });

  describe("notifications", () => {
    const board = () => chat.harness.seed.organizations[0].boards[0];
    const owner = () => chat.harness.token(0, "OWNER");
    const createItem = async (boardId: string, groupId: string, name: string) => {
      const result = await chat.harness.gql(await owner(), `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, { input: { boardId, groupId, name } });
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
      return (result.body.data?.createItem as { id: string } | undefined)?.id ?? "";
    };
    const inChannel = (name: string) => chat.slack.messages.filter((message) => message.channel === CHANNEL && JSON.stringify(message.blocks).includes(name));

    it("post an item created on a public board to the channel once, in Block Kit with View item and Mark done", async () => {
      const name = `Notice ${randomUUID().slice(0, 8)}`;
      const itemId = await createItem(board().id, board().groupIds[0] ?? "", name);
      await waitFor("the notification", () => inChannel(name).length > 0);
      await chat.runtime.drain();
      assert.equal(inChannel(name).length, 1);
      const blocks = inChannel(name)[0]?.blocks as Block[];
      const buttons = blocks.flatMap((block) => block.elements ?? []);
      assert.ok(
        buttons.some((button) => button.url?.includes(`/boards/${board().id}/items/${itemId}`)),
        "View item links the item",
      );
      assert.ok(
        buttons.some((button) => button.action_id?.startsWith("sunday.mark_done") && button.value === itemId),
        "Mark done carries the item",
      );
    });

    it("say nothing in an organisation-wide channel about a private board", async () => {
      const privateBoard = chat.harness.seed.organizations[0].boards[1];
      const secret = `Secret ${randomUUID().slice(0, 8)}`;
      await createItem(privateBoard.id, privateBoard.groupIds[0] ?? "", secret);
      const marker = `Marker ${randomUUID().slice(0, 8)}`;
      await createItem(board().id, board().groupIds[0] ?? "", marker);
      await waitFor("the marker's notification", () => inChannel(marker).length > 0);
      await chat.runtime.drain();
      assert.equal(chat.slack.messages.filter((message) => JSON.stringify(message).includes(secret)).length, 0);
    });

    it("arrive once after a 429 storm, and after an outage of Slack (none lost)", async () => {
      chat.slack.failNext(3, { status: 429, retryAfterSeconds: 1 });
      const stormed = `Storm ${randomUUID().slice(0, 8)}`;
      await createItem(board().id, board().groupIds[0] ?? "", stormed);
      await waitFor(
        "the notification after the 429s",
        () => inChannel(stormed).length > 0,
        () => `${chat.slack.requests("chat.postMessage")} calls`,
        30_000,
      );
      await chat.slack.down();
      const names = Array.from({ length: 5 }, (_, n) => `Outage ${n} ${randomUUID().slice(0, 8)}`);
      for (const name of names) await createItem(board().id, board().groupIds[0] ?? "", name);
      await waitFor(
        "attempts while Slack is down",
        async () => (await chat.harness.prisma.chatNotification.count({ where: { notice: { path: ["title"], equals: names[4] }, attempt: { gte: 1 } } })) > 0,
      );
      await chat.slack.up();
      await waitFor(
        "every notification of the outage",
        () => names.every((name) => inChannel(name).length > 0),
        () => `${chat.slack.messages.length} messages`,
        40_000,
      );
      await chat.runtime.drain();
      for (const name of [stormed, ...names]) assert.equal(inChannel(name).length, 1, name);
    });

    it("tell of a status change, an assignment and a comment, a burst batched into at most two messages", async () => {
      const name = `Busy ${randomUUID().slice(0, 8)}`;
      const itemId = await createItem(board().id, board().groupIds[0] ?? "", name);
      await waitFor("the creation's notification", () => inChannel(name).length > 0);
      const before = inChannel(name).length;
      const token = await owner();
      const member = chat.harness.seed.organizations[0].users.find((user) => user.role === "MEMBER");
      // One after the other, fast: the item's writes are versioned, and the channel's pacing batches what follows the first.
      const steps: [string, Record<string, unknown>][] = [
        [`mutation($input: SetColumnValueInput!) { setColumnValue(input: $input) { id } }`, { itemId, columnId: board().columnIds.STATUS, value: { label: "Working on it" } }],
        [`mutation($input: AssignUsersInput!) { assignUsers(input: $input) { id } }`, { itemId, add: [member?.id] }],
        [`mutation($input: AddCommentInput!) { addComment(input: $input) { id } }`, { itemId, body: "Looks good to me" }],
      ];
      for (const [mutation, input] of steps) {
        const result = await chat.harness.gql(token, mutation, { input });
        assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
      }
      const told = () =>
        JSON.stringify(
          inChannel(name)
            .slice(before)
            .map((message) => message.blocks),
        );
      await waitFor("the three notices", () => ["Working on it", `Assigned to ${member?.name}`, "Looks good to me"].every((text) => told().includes(text)), told);
      await chat.runtime.drain();
      const messages = inChannel(name).slice(before);
      assert.ok(messages.length >= 1 && messages.length <= 2, `${messages.length} messages for a burst of three`);
      for (const text of ["Working on it", "Looks good to me"]) assert.equal(told().split(text).length - 1, 1, `${text} is told once`);
    });

    it("are counted in the chat metrics", async () => {
      const text = await chat.metrics.metrics();
      assert.match(text, /sunday_chat_requests_total\{provider="SLACK",operation="chat.postMessage",outcome="ok"\} [1-9]/);
      assert.match(text, /sunday_chat_requests_total\{provider="SLACK",operation="chat.postMessage",outcome="rate_limited"\} [1-9]/);
      assert.match(text, /sunday_chat_notification_latency_seconds_count\{provider="SLACK"\} [1-9]/);
      assert.match(text, /sunday_chat_breaker_open\{provider="SLACK"\} 0/);
    });

    it("Mark done runs as the clicking user: a VIEWER is refused, the OWNER's sets Done", async () => {
      const itemId = board().itemIds[0] ?? "";
      const press = async (slackUser: string) => {
        const before = chat.slack.responses.length;
        const payload = {
          type: "block_actions",
          team: { id: TEAM },
          user: { id: slackUser },
          channel: { id: CHANNEL },
          response_url: chat.slack.responseUrl(),
          actions: [{ action_id: "sunday.mark_done:0", value: itemId, type: "button" }],
        };
        await chat.slackPost("interactivity", new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { contentType: "application/x-www-form-urlencoded" });
        await chat.runtime.drain();
        return (await chat.slack.waitForResponses(before + 1)).slice(before)[0];
      };
      const statusOf = async () => (await chat.harness.prisma.columnValue.findFirst({ where: { itemId, columnId: board().columnIds.STATUS } }))?.value as { label?: string } | null;
      const stuck = await chat.harness.gql(await owner(), `mutation($input: SetColumnValueInput!) { setColumnValue(input: $input) { id } }`, {
        input: { itemId, columnId: board().columnIds.STATUS, value: { label: "Stuck" } },
      });
      assert.equal(stuck.body.errors, undefined);
      await press(slackIdOf.get("VIEWER") ?? "");
      assert.equal((await statusOf())?.label, "Stuck");
      await press(slackIdOf.get("OWNER") ?? "");
      assert.equal((await statusOf())?.label, "Done");
    });
  });

  describe("uninstall", () => {
    it("app_uninstalled deletes the token, switches the integration off, and commands do nothing after", async () => {
      assert.equal((await chat.slackPost("events", eventBody(TEAM, { type: "app_uninstalled" }))).status, 200);
      await chat.runtime.drain();
      const row = await chat.harness.prisma.chatInstallation.findFirstOrThrow({ where: { externalId: TEAM } });
      assert.equal(row.botToken, null);
      assert.ok(row.uninstalledAt);
      const integrations = await chat.harness.prisma.integration.findMany({ where: { config: { path: ["installationId"], equals: row.id } } });
      assert.ok(integrations.length > 0 && integrations.every((integration) => !integration.enabled));
      const name = `After uninstall ${randomUUID().slice(0, 8)}`;
      await chat.slashCommand(TEAM, slackIdOf.get("OWNER") ?? "", `create ${name} in "${chat.harness.seed.organizations[0].boards[0].name}"`);
      await chat.runtime.drain();
      assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 0);
    });
  });
});
