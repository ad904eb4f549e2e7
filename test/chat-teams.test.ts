// The Microsoft Teams bot end to end: real stack (Postgres, Redis), the integrations runtime behind
// the gateway, a Bot-Connector-compatible server on loopback (real JWTs, real HTTP), and the Kafka
// pipeline for notifications.
// What it promises: only activities the Bot Connector vouched for (its key, issuer, our app id, the
// activity's own serviceUrl, not expired) change anything; a tenant is connected by an org admin's
// code, to one organisation for good; Teams users act as the Sunday user their email maps to, with
// that user's rights (VIEWER refused, unknown and other organisations' users never mapped); a
// redelivered activity runs once; "Mark done" runs as the user who pressed it; notifications
// arrive once, as Adaptive Cards, only about boards the channel may hear about, and stop where the
// bot was removed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { startChatHarness, TEAMS_APP, WEB_URL, type ChatHarness } from "./support/chat.ts";
import type { ReceivedActivity } from "./support/bot-connector.ts";
import { waitFor } from "./support/wait.ts";

const TENANT = `tenant-${randomUUID()}`;
const CONVERSATION = `19:${randomUUID()}@thread.tacv2`;
/** A second channel of the connected tenant the bot is added to later (notifications go to both). */
const SECOND_CONVERSATION = `19:${randomUUID()}@thread.tacv2`;
/** A channel the bot is added to after it was removed from every other one. */
const THIRD_CONVERSATION = `19:${randomUUID()}@thread.tacv2`;
const BOT_ID = `28:${TEAMS_APP.appId}`;
const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";

interface CardAction {
  type?: string;
  verb?: string;
  url?: string;
  data?: { itemId?: string };
}

/** Every action of a card, at its foot or in the ActionSets of a burst's Containers. */
function actionsOf(node: unknown): CardAction[] {
  if (Array.isArray(node)) return node.flatMap(actionsOf);
  if (typeof node !== "object" || node === null) return [];
  const record = node as Record<string, unknown>;
  const own = typeof record.type === "string" && record.type.startsWith("Action.") ? [record as CardAction] : [];
  return [...own, ...Object.values(record).flatMap(actionsOf)];
}

describe("Teams bot", () => {
  let chat: ChatHarness;
  const publicBoard = () => chat.harness.seed.organizations[0].boards[0];
  const privateBoard = () => chat.harness.seed.organizations[0].boards[1];

  /** A Teams user of the conversation, known to the Bot Connector with this email. */
  const member = (email: string, conversationId = CONVERSATION) => {
    const aadObjectId = randomUUID();
    const fromId = `29:${randomUUID()}`;
    chat.bot.addMember(conversationId, { id: fromId, name: "Teams User", email, aadObjectId });
    return { fromId, aadObjectId };
  };
  const memberAs = async (org: 0 | 1, role: "OWNER" | "ADMIN" | "MEMBER" | "VIEWER" | "GUEST") => member((await chat.user(org, role)).email);
  const message = (from: { fromId: string; aadObjectId: string }, text: string, conversationId = CONVERSATION, tenantId = TENANT) => chat.teamsMessage({ tenantId, conversationId, ...from, text });
  const repliesTo = (activityId: unknown) => chat.bot.activities.filter((received) => received.replyToId === activityId);
  const waitForReply = async (activityId: unknown): Promise<ReceivedActivity> => {
    await waitFor(
      `a reply to ${String(activityId)}`,
      () => repliesTo(activityId).length > 0,
      () => `${chat.bot.activities.length} activities`,
    );
    const [reply] = repliesTo(activityId);
    assert.ok(reply);
    return reply;
  };
  const connectCode = async (org: 0 | 1) => {
    const response = await fetch(new URL("/integrations/teams/install", chat.gatewayUrl), {
      headers: { authorization: `Bearer ${await chat.harness.token(org, "OWNER")}` },
    });
    assert.equal(response.status, 200);
    const { code } = (await response.json()) as { code: string };
    return code;
  };

  before(async () => {
    chat = await startChatHarness("chat_teams", { pipeline: true });
  });
  after(() => chat?.dispose());

  describe("inbound requests", () => {
    it("refuse no token, a wrong issuer, a wrong audience, a foreign key, another serviceUrl and an expired token with 401, and store nothing", async () => {
      const tenant = `tenant-${randomUUID()}`;
      const conversationId = `19:${randomUUID()}@thread.tacv2`;
      const from = { fromId: `29:${randomUUID()}`, aadObjectId: randomUUID() };
      // Each carries a valid connect code: had any been accepted, the tenant would be bound.
      const connect = chat.teamsMessage({ tenantId: tenant, conversationId, ...from, text: `connect ${await connectCode(0)}` });
      const before = chat.bot.activities.length;
      const elsewhere = "https://smba.trafficmanager.net/amer/";
      const attempts: [string, Record<string, unknown>, string | null][] = [
        ["no Authorization", connect, null],
        ["wrong issuer", connect, await chat.bot.signActivityToken({ issuer: "https://sts.windows.net/evil/" })],
        ["wrong audience", connect, await chat.bot.signActivityToken({ audience: randomUUID() })],
        ["foreign key", connect, await chat.bot.signActivityToken({ useForeignKey: true })],
        ["serviceurl claim of another host", connect, await chat.bot.signActivityToken({ serviceUrl: elsewhere })],
        ["activity naming another serviceUrl", { ...connect, serviceUrl: elsewhere }, await chat.bot.signActivityToken()],
        ["no serviceurl claim", connect, await chat.bot.signActivityToken({ serviceUrl: null })],
        ["expired", connect, await chat.bot.signActivityToken({ expiresInSeconds: -600 })],
      ];
      for (const [what, activity, token] of attempts) {
        const answer = await chat.teamsPost({ ...activity, id: `1${randomUUID()}` }, token);
        assert.equal(answer.status, 401, `${what}: ${answer.body}`);
      }
      await chat.runtime.drain();
      assert.equal(await chat.harness.prisma.chatInstallation.count({ where: { provider: "TEAMS", externalId: tenant } }), 0);
      assert.equal(await chat.harness.prisma.chatConversation.count({ where: { conversationId } }), 0);
      assert.equal(chat.bot.activities.length, before, "no reply was sent");
    });
  });

  describe("connect", () => {
    it("codes are for OWNER and ADMIN only, and need a signed in user", async () => {
      for (const role of ["MEMBER", "VIEWER", "GUEST"] as const) {
        const response = await fetch(new URL("/integrations/teams/install", chat.gatewayUrl), {
          headers: { authorization: `Bearer ${await chat.harness.token(0, role)}` },
        });
        assert.equal(response.status, 403, role);
      }
      const anonymous = await fetch(new URL("/integrations/teams/install", chat.gatewayUrl));
      assert.equal(anonymous.status, 401);
      for (const role of ["OWNER", "ADMIN"] as const) {
        const response = await fetch(new URL("/integrations/teams/install", chat.gatewayUrl), {
          headers: { authorization: `Bearer ${await chat.harness.token(0, role)}` },
        });
        assert.equal(response.status, 200, role);
        const body = (await response.json()) as { code?: string; expiresInSeconds?: number };
        assert.ok(body.code && body.code.length > 20, role);
        assert.ok((body.expiresInSeconds ?? 0) > 0);
      }
    });

    it("a forged, garbled or Slack code binds nothing, and the bot says the code is not valid", async () => {
      const tenant = `tenant-${randomUUID()}`;
      const conversationId = `19:${randomUUID()}@thread.tacv2`;
      const from = { fromId: `29:${randomUUID()}`, aadObjectId: randomUUID() };
      const owner = await chat.user(0, "OWNER");
      const forged = await new SignJWT({ provider: "TEAMS", org: owner.organizationId, board: null, channel: null })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(owner.id)
        .setAudience("sunday-chat-install")
        .setIssuedAt()
        .setExpirationTime("600s")
        .sign(new TextEncoder().encode("not-the-signing-secret-not-the-signing-secret"));
      const real = await connectCode(0);
      const [header, payload, signature = ""] = real.split(".");
      const garbled = `${header}.${payload}.${signature.slice(0, 5)}${signature[5] === "A" ? "B" : "A"}${signature.slice(6)}`;
      const slackLink = await chat.slackInstallLink(0, "OWNER");
      const slackState = new URL(slackLink.body.url ?? "").searchParams.get("state") ?? "";
      assert.ok(slackState, "a Slack install state to try");
      for (const code of [forged, garbled, "not-a-code-at-all", slackState]) {
        const activity = chat.teamsMessage({ tenantId: tenant, conversationId, ...from, text: `connect ${code}` });
        assert.equal((await chat.teamsPost(activity)).status, 200);
        const reply = await waitForReply(activity.id);
        assert.match(JSON.stringify(reply.activity), /not valid/, code);
      }
      await chat.runtime.drain();
      assert.equal(await chat.harness.prisma.chatInstallation.count({ where: { provider: "TEAMS", externalId: tenant } }), 0);
      assert.equal(await chat.harness.prisma.chatConversation.count({ where: { conversationId } }), 0);
      assert.equal(await chat.harness.prisma.integration.count({ where: { type: "TEAMS" } }), 0);
    });

    it("connect binds the tenant to the organisation, stores the conversation, switches the integration on and replies", async () => {
      const organization = chat.harness.seed.organizations[0];
      const from = await memberAs(0, "OWNER");
      const activity = message(from, `connect ${await connectCode(0)}`);
      assert.equal((await chat.teamsPost(activity)).status, 200);
      const reply = await waitForReply(activity.id);
      assert.equal(reply.conversationId, CONVERSATION);
      assert.match(JSON.stringify(reply.activity), /Connected to Sunday/);
      await chat.runtime.drain();
      const installation = await chat.harness.prisma.chatInstallation.findUniqueOrThrow({ where: { provider_externalId: { provider: "TEAMS", externalId: TENANT } } });
      assert.equal(installation.organizationId, organization.id);
      assert.equal(installation.installedById, organization.userIdsByRole.OWNER);
      assert.equal(installation.uninstalledAt, null);
      const conversation = await chat.harness.prisma.chatConversation.findUniqueOrThrow({
        where: { installationId_conversationId: { installationId: installation.id, conversationId: CONVERSATION } },
      });
      assert.equal(conversation.serviceUrl, chat.bot.serviceUrl);
      assert.equal(conversation.removedAt, null);
      const integrations = await chat.harness.prisma.integration.findMany({ where: { organizationId: organization.id, type: "TEAMS" } });
      assert.equal(integrations.length, 1);
      const [integration] = integrations;
      assert.ok(integration);
      assert.equal(integration.enabled, true);
      assert.equal(integration.boardId, null, "organisation wide");
      assert.equal((integration.config as { installationId?: string }).installationId, installation.id);
    });

    it("refuse another organisation's code from the connected tenant, and say so", async () => {
      const conversationId = `19:${randomUUID()}@thread.tacv2`;
      const from = member((await chat.user(1, "OWNER")).email, conversationId);
      const activity = message(from, `connect ${await connectCode(1)}`, conversationId);
      assert.equal((await chat.teamsPost(activity)).status, 200);
      const reply = await waitForReply(activity.id);
      assert.match(JSON.stringify(reply.activity), /connected to another Sunday organization/);
      await chat.runtime.drain();
      const installation = await chat.harness.prisma.chatInstallation.findUniqueOrThrow({ where: { provider_externalId: { provider: "TEAMS", externalId: TENANT } } });
      assert.equal(installation.organizationId, chat.harness.seed.organizations[0].id);
      assert.equal(await chat.harness.prisma.chatConversation.count({ where: { conversationId } }), 0);
      assert.equal(await chat.harness.prisma.integration.count({ where: { organizationId: chat.harness.seed.organizations[1].id, type: "TEAMS" } }), 0);
    });
  });

  describe("commands", () => {
    it("create an item as the mapped OWNER, and reply in the thread", async () => {
      const name = `From Teams ${randomUUID().slice(0, 8)}`;
      const activity = message(await memberAs(0, "OWNER"), `create ${name} in "${publicBoard().name}"`);
      assert.equal((await chat.teamsPost(activity)).status, 200);
      await chat.runtime.drain();
      const item = await chat.harness.prisma.item.findFirstOrThrow({ where: { name } });
      assert.equal(item.boardId, publicBoard().id);
      assert.equal(item.creatorId, chat.harness.seed.organizations[0].userIdsByRole.OWNER);
      const reply = await waitForReply(activity.id);
      assert.equal(reply.conversationId, CONVERSATION);
      assert.match(JSON.stringify(reply.activity), new RegExp(name));
    });

    it("refuse a VIEWER's create with a reply, and create nothing", async () => {
      const name = `Viewer try ${randomUUID().slice(0, 8)}`;
      const activity = message(await memberAs(0, "VIEWER"), `create ${name} in "${publicBoard().name}"`);
      assert.equal((await chat.teamsPost(activity)).status, 200);
      await chat.runtime.drain();
      await waitForReply(activity.id);
      assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 0);
    });

    /** An unmapped sender's create: the "who are you" reply, no item, no link kept. */
    const expectUnmapped = async (from: { fromId: string; aadObjectId: string }) => {
      const name = `Unmapped ${randomUUID().slice(0, 8)}`;
      const activity = message(from, `create ${name} in "${publicBoard().name}"`);
      assert.equal((await chat.teamsPost(activity)).status, 200);
      await chat.runtime.drain();
      const reply = await waitForReply(activity.id);
      assert.match(JSON.stringify(reply.activity), /which Sunday user you are/);
      assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 0);
      assert.equal(await chat.harness.prisma.chatUserLink.count({ where: { externalUserId: from.aadObjectId } }), 0);
    };

    it("tell a member whose email Sunday does not know that it cannot tell who they are, and do nothing", async () => {
      await expectUnmapped(member(`nobody-${randomUUID().slice(0, 8)}@elsewhere.example`));
    });

    it("never map a user of another organisation, even with that organisation's email", async () => {
      await expectUnmapped(await memberAs(1, "OWNER"));
    });

    it("run an activity delivered twice once", async () => {
      const name = `Twice ${randomUUID().slice(0, 8)}`;
      const activity = message(await memberAs(0, "MEMBER"), `create ${name} in "${publicBoard().name}"`);
      assert.equal((await chat.teamsPost(activity)).status, 200);
      assert.equal((await chat.teamsPost(activity)).status, 200);
      await chat.runtime.drain();
      await waitForReply(activity.id);
      await chat.runtime.drain();
      assert.equal(await chat.harness.prisma.item.count({ where: { name } }), 1);
      assert.equal(repliesTo(activity.id).length, 1);
    });
  });

  describe("Mark done", () => {
    const statusLabel = async (itemId: string, columnId: string) => ((await chat.harness.prisma.columnValue.findFirst({ where: { itemId, columnId } }))?.value as { label?: string } | null)?.label;
    /** An item of the board whose status is not Done yet. */
    const notDone = async (org: 0 | 1) => {
      const board = chat.harness.seed.organizations[org].boards[0];
      const values = await chat.harness.prisma.columnValue.findMany({ where: { columnId: board.columnIds.STATUS, itemId: { in: board.itemIds } } });
      const value = values.find((candidate) => (candidate.value as { label?: string } | null)?.label !== "Done");
      assert.ok(value, "an item not done yet");
      return { itemId: value.itemId, columnId: board.columnIds.STATUS };
    };
    /** Presses "Mark done" on a card in the connected conversation, as Teams sends it; the HTTP answer's body. */
    const press = async (role: "VIEWER" | "OWNER", itemId: string) => {
      const invoke = {
        ...message(await memberAs(0, role), ""),
        type: "invoke",
        name: "adaptiveCard/action",
        value: { action: { type: "Action.Execute", verb: "sunday.mark_done", data: { itemId } }, trigger: "manual" },
      };
      const answer = await chat.teamsPost(invoke);
      assert.equal(answer.status, 200, answer.body);
      const body = JSON.parse(answer.body) as { statusCode?: number; type?: string; value?: { type?: string } };
      assert.equal(body.statusCode, 200);
      assert.equal(body.type, ADAPTIVE_CARD);
      assert.equal(body.value?.type, "AdaptiveCard");
      await chat.runtime.drain();
      return body;
    };

    it("answers with a card and runs as the presser: a VIEWER is refused, the OWNER's sets Done", async () => {
      const { itemId, columnId } = await notDone(0);
      const before = await statusLabel(itemId, columnId);
      await press("VIEWER", itemId);
      assert.equal(await statusLabel(itemId, columnId), before);
      await press("OWNER", itemId);
      assert.equal(await statusLabel(itemId, columnId), "Done");
    });

    it("never touches an item of another organisation", async () => {
      const { itemId, columnId } = await notDone(1);
      const before = await statusLabel(itemId, columnId);
      await press("OWNER", itemId);
      assert.equal(await statusLabel(itemId, columnId), before);
    });
  });

  describe("notifications", () => {
    const createItem = async (boardId: string, groupId: string, name: string) => {
      const result = await chat.harness.gql(await chat.harness.token(0, "OWNER"), `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
        input: { boardId, groupId, name },
      });
      assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
      const created = result.body.data?.createItem as { id: string } | undefined;
      assert.ok(created);
      return created.id;
    };
    /** The bot added to or removed from a channel of the connected tenant. */
    const conversationUpdate = (conversationId: string, change: "membersAdded" | "membersRemoved") => ({
      type: "conversationUpdate",
      id: `f:${randomUUID()}`,
      timestamp: new Date().toISOString(),
      serviceUrl: chat.bot.serviceUrl,
      channelId: "msteams",
      from: { id: `29:${randomUUID()}`, aadObjectId: randomUUID() },
      conversation: { id: conversationId, conversationType: "channel", isGroup: true, tenantId: TENANT },
      recipient: { id: BOT_ID, name: "Sunday" },
      [change]: [{ id: BOT_ID }],
      channelData: { tenant: { id: TENANT }, team: { id: `19:team-${TENANT}@thread.tacv2` }, eventType: change === "membersAdded" ? "teamMemberAdded" : "teamMemberRemoved" },
    });
    /** Notifications (not replies) that mention `name`, in a conversation. */
    const noticesIn = (conversationId: string, name: string) =>
      chat.bot.activities.filter((received) => received.conversationId === conversationId && received.replyToId === null && JSON.stringify(received.activity).includes(name));

    it("post an item created on a public board to the conversation once, as an Adaptive Card with Mark done and View item", async () => {
      const name = `Notice ${randomUUID().slice(0, 8)}`;
      const itemId = await createItem(publicBoard().id, publicBoard().groupIds[0] ?? "", name);
      await waitFor(
        "the notification",
        () => noticesIn(CONVERSATION, name).length > 0,
        () => `${chat.bot.activities.length} activities`,
      );
      await chat.runtime.drain();
      const notices = noticesIn(CONVERSATION, name);
      assert.equal(notices.length, 1);
      const attachments = (notices[0]?.activity.attachments ?? []) as { contentType?: string; content?: unknown }[];
      assert.equal(attachments.length, 1);
      assert.equal(attachments[0]?.contentType, ADAPTIVE_CARD);
      const actions = actionsOf(attachments[0]?.content);
      assert.ok(
        actions.some((action) => action.type === "Action.Execute" && action.verb === "sunday.mark_done" && action.data?.itemId === itemId),
        "Mark done carries the item",
      );
      assert.ok(
        actions.some((action) => action.type === "Action.OpenUrl" && action.url === `${WEB_URL}/boards/${publicBoard().id}/items/${itemId}`),
        "View item opens the item",
      );
    });

    it("say nothing in an organisation wide conversation about a private board", async () => {
      const secret = `Secret ${randomUUID().slice(0, 8)}`;
      await createItem(privateBoard().id, privateBoard().groupIds[0] ?? "", secret);
      const marker = `Marker ${randomUUID().slice(0, 8)}`;
      await createItem(publicBoard().id, publicBoard().groupIds[0] ?? "", marker);
      await waitFor(
        "the marker's notification",
        () => noticesIn(CONVERSATION, marker).length > 0,
        () => `${chat.bot.activities.length} activities`,
      );
      await chat.runtime.drain();
      assert.equal(chat.bot.activities.filter((received) => JSON.stringify(received.activity).includes(secret)).length, 0);
    });

    it("send nothing to a personal chat of a Teams user Sunday does not know", async () => {
      const personal = `a:${randomUUID()}`;
      const stranger = member(`nobody-${randomUUID().slice(0, 8)}@elsewhere.example`, personal);
      const hello = chat.teamsMessage({ tenantId: TENANT, conversationId: personal, ...stranger, text: "help" });
      hello.conversation = { id: personal, conversationType: "personal", tenantId: TENANT };
      assert.equal((await chat.teamsPost(hello)).status, 200);
      assert.match(JSON.stringify((await waitForReply(hello.id)).activity), /which Sunday user you are/);
      try {
        const name = `Not for strangers ${randomUUID().slice(0, 8)}`;
        await createItem(publicBoard().id, publicBoard().groupIds[0] ?? "", name);
        await waitFor(
          "the notification in the connected channel",
          () => noticesIn(CONVERSATION, name).length > 0,
          () => `${chat.bot.activities.length} activities`,
        );
        await chat.runtime.drain();
        assert.equal(noticesIn(personal, name).length, 0, "a board notification reached the personal chat of someone who is not a Sunday user");
      } finally {
        // The stranger removes the app, so the tests after this one see only the channels they set up.
        const removal = { ...conversationUpdate(personal, "membersRemoved"), conversation: { id: personal, conversationType: "personal", tenantId: TENANT } };
        assert.equal((await chat.teamsPost(removal)).status, 200);
        await chat.runtime.drain();
      }
    });

    it("stop in a conversation the bot was removed from, while a channel it was added to hears on", async () => {
      const arrived = chat.bot.activities.length;
      assert.equal((await chat.teamsPost(conversationUpdate(SECOND_CONVERSATION, "membersAdded"))).status, 200);
      await chat.runtime.drain();
      await waitFor("the welcome in the new channel", () => chat.bot.activities.slice(arrived).some((received) => received.conversationId === SECOND_CONVERSATION));

      assert.equal((await chat.teamsPost(conversationUpdate(CONVERSATION, "membersRemoved"))).status, 200);
      await chat.runtime.drain();
      const removed = await chat.harness.prisma.chatConversation.findFirstOrThrow({ where: { conversationId: CONVERSATION } });
      assert.ok(removed.removedAt, "the conversation is marked removed");

      const name = `After removal ${randomUUID().slice(0, 8)}`;
      await createItem(publicBoard().id, publicBoard().groupIds[0] ?? "", name);
      await waitFor(
        "the notification in the other channel",
        () => noticesIn(SECOND_CONVERSATION, name).length > 0,
        () => `${chat.bot.activities.length} activities`,
      );
      await chat.runtime.drain();
      assert.equal(noticesIn(SECOND_CONVERSATION, name).length, 1);
      assert.equal(noticesIn(CONVERSATION, name).length, 0, "nothing goes to the conversation the bot left");

      // The last conversation gone: the integration is switched off.
      assert.equal((await chat.teamsPost(conversationUpdate(SECOND_CONVERSATION, "membersRemoved"))).status, 200);
      await chat.runtime.drain();
      const integration = await chat.harness.prisma.integration.findFirstOrThrow({ where: { organizationId: chat.harness.seed.organizations[0].id, type: "TEAMS" } });
      assert.equal(integration.enabled, false);
    });

    it("say notifications are off in a channel the bot is added back to, and hear again after a new connect", async () => {
      const arrived = chat.bot.activities.length;
      assert.equal((await chat.teamsPost(conversationUpdate(THIRD_CONVERSATION, "membersAdded"))).status, 200);
      await chat.runtime.drain();
      await waitFor("the welcome", () => chat.bot.activities.slice(arrived).some((received) => received.conversationId === THIRD_CONVERSATION));
      const [welcome] = chat.bot.activities.slice(arrived).filter((received) => received.conversationId === THIRD_CONVERSATION);
      assert.match(JSON.stringify(welcome?.activity), /notifications are switched off/);
      const admin = await memberAs(0, "OWNER");
      const connect = message(admin, `connect ${await connectCode(0)}`, THIRD_CONVERSATION);
      assert.equal((await chat.teamsPost(connect)).status, 200);
      await waitForReply(connect.id);
      const name = `Back again ${randomUUID().slice(0, 8)}`;
      await createItem(publicBoard().id, publicBoard().groupIds[0] ?? "", name);
      await waitFor(
        "the notification in the channel the bot was added back to",
        () => noticesIn(THIRD_CONVERSATION, name).length > 0,
        () => `${chat.bot.activities.length} activities`,
      );
      await chat.runtime.drain();
      assert.equal(noticesIn(THIRD_CONVERSATION, name).length, 1);
    });
  });
});
