// The Teams connector's Bot Framework protocol layer on its own (no services): against the
// Bot-Connector-compatible loopback server of test/support/bot-connector.ts, with real HTTP and JWTs
// signed RS256 by that server's keys.
// What it promises: inbound tokens verify only when signed by a published key, issued by the Bot
// Framework, for this bot, unexpired, and vouching for the activity's serviceUrl (every other case is
// refused with a reason, never thrown); the outbound token is fetched once and shared until it nears
// expiry, and dropped when refused; the client posts to the conversation API and sorts failures
// into rate_limited / transient / fatal / broken; activities are read defensively; cards carry
// Action.Execute and Action.OpenUrl as Teams expects.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";
import { type BotConnector, startBotConnector, teamsRequest } from "./support/bot-connector.ts";
import { freePort } from "./support/free-port.ts";
import { waitFor } from "./support/wait.ts";
import { CHAT_ACTIONS, type ChatNotice, type ChatReply } from "../subgraphs/integrations/runtime/chat/model.ts";
import { createBotAuthenticator } from "../subgraphs/integrations/runtime/chat/teams/bot-auth.ts";
import { BotTokenError, createBotTokenSource } from "../subgraphs/integrations/runtime/chat/teams/token.ts";
import { TeamsCallError, createTeamsClient, type TeamsCallOutcome } from "../subgraphs/integrations/runtime/chat/teams/client.ts";
import { parseActivity } from "../subgraphs/integrations/runtime/chat/teams/activities.ts";
import { adaptiveCardInvokeResponse, teamsNoticeActivity, teamsReplyActivity } from "../subgraphs/integrations/runtime/chat/teams/cards.ts";

const APP_ID = "6a3f1c2e-0b1d-4e5f-9a8b-7c6d5e4f3a2b";
const APP_PASSWORD = "test-password-~not-a-secret";
const BOT_ID = `28:${APP_ID}`;
const CONVERSATION = "19:0f1e2d3c4b5a@thread.tacv2;messageid=1714558333456";

type Json = Record<string, unknown>;

async function callError(promise: Promise<unknown>): Promise<TeamsCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TeamsCallError, `expected a TeamsCallError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

describe("Bot Connector token verification", () => {
  let connector: BotConnector;
  let auth: ReturnType<typeof createBotAuthenticator>;

  before(async () => {
    connector = await startBotConnector({ appId: APP_ID, appPassword: APP_PASSWORD });
    auth = createBotAuthenticator({ appId: APP_ID, openIdMetadataUrl: connector.openIdMetadataUrl });
  });
  after(() => connector.close());

  it("accepts a token the Bot Connector signed for this bot and the activity's serviceUrl", async () => {
    const result = await auth.verify(`Bearer ${await connector.signActivityToken()}`, connector.serviceUrl);
    assert.equal(result.ok, true, result.ok ? "" : result.reason);
    assert.equal(result.ok && result.claims.aud, APP_ID);
    assert.equal(result.ok && result.claims.iss, "https://api.botframework.com");
  });

  it("ignores one trailing slash when comparing the serviceUrl", async () => {
    const withSlash = connector.serviceUrl;
    const withoutSlash = withSlash.slice(0, -1);
    const tokenWithout = await connector.signActivityToken({ serviceUrl: withoutSlash });
    assert.equal((await auth.verify(`Bearer ${tokenWithout}`, withSlash)).ok, true);
    assert.equal((await auth.verify(`Bearer ${await connector.signActivityToken()}`, withoutSlash)).ok, true);
    assert.equal((await auth.verify(`bearer ${tokenWithout}`, withoutSlash)).ok, true, "the scheme is case-insensitive");
  });

  it("refuses every token that is not exactly right, each with a reason", async () => {
    const hs256 = await new SignJWT({ serviceurl: connector.serviceUrl })
      .setProtectedHeader({ alg: "HS256", kid: "k" })
      .setIssuer(connector.issuer)
      .setAudience(APP_ID)
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("a shared secret nobody should accept here"));
    const cases: [string, () => Promise<[string | undefined, string | undefined]>, RegExp][] = [
      ["a wrong issuer", async () => [`Bearer ${await connector.signActivityToken({ issuer: "https://sts.windows.net/evil/" })}`, connector.serviceUrl], /issuer/],
      ["another bot's audience", async () => [`Bearer ${await connector.signActivityToken({ audience: "another-bot" })}`, connector.serviceUrl], /audience/],
      ["a key that is not published", async () => [`Bearer ${await connector.signActivityToken({ useForeignKey: true })}`, connector.serviceUrl], /signature/],
      ["an unknown kid", async () => [`Bearer ${await connector.signActivityToken({ keyId: "not-published" })}`, connector.serviceUrl], /unknown key/],
      ["an expired token", async () => [`Bearer ${await connector.signActivityToken({ expiresInSeconds: -600 })}`, connector.serviceUrl], /expired/],
      ["a symmetric (HS256) token", async () => [`Bearer ${hs256}`, connector.serviceUrl], /algorithm/],
      ["no Authorization header", async () => [undefined, connector.serviceUrl], /missing Authorization/],
      ["an empty Authorization header", async () => ["", connector.serviceUrl], /missing Authorization/],
      ["a Basic credential", async () => [`Basic ${Buffer.from(`${APP_ID}:${APP_PASSWORD}`).toString("base64")}`, connector.serviceUrl], /not a Bearer/],
      ["a garbled token", async () => ["Bearer not.a.jwt", connector.serviceUrl], /malformed/],
      ["a token with a valid header and a garbage signature", async () => ["Bearer eyJhbGciOiJSUzI1NiJ9.e30.Z2FyYmFnZQ", connector.serviceUrl], /signature/],
      ["a token that is not a JWT", async () => ["Bearer abc", connector.serviceUrl], /malformed/],
      [
        "a serviceurl claim for another host",
        async () => [`Bearer ${await connector.signActivityToken({ serviceUrl: "https://smba.trafficmanager.net/amer/" })}`, connector.serviceUrl],
        /serviceurl claim does not match/,
      ],
      ["an activity naming another serviceUrl than the token", async () => [`Bearer ${await connector.signActivityToken()}`, "https://attacker.example/amer/"], /serviceurl claim does not match/],
      ["a token without a serviceurl claim", async () => [`Bearer ${await connector.signActivityToken({ serviceUrl: null })}`, connector.serviceUrl], /no serviceurl claim/],
      ["an activity without serviceUrl", async () => [`Bearer ${await connector.signActivityToken()}`, undefined], /activity has no serviceUrl/],
    ];
    for (const [name, make, reason] of cases) {
      const [authorization, serviceUrl] = await make();
      const result = await auth.verify(authorization, serviceUrl);
      assert.equal(result.ok, false, `${name} was accepted`);
      assert.match(result.ok ? "" : result.reason, reason, name);
    }
  });

  it("allows 5 minutes of clock skew on expiry, and no more", async () => {
    assert.equal((await auth.verify(`Bearer ${await connector.signActivityToken({ expiresInSeconds: -200 })}`, connector.serviceUrl)).ok, true);
    assert.equal((await auth.verify(`Bearer ${await connector.signActivityToken({ expiresInSeconds: -400 })}`, connector.serviceUrl)).ok, false);
  });

  it("keeps verifying with the keys it has while the metadata host is down", async () => {
    const token = await connector.signActivityToken();
    await connector.down();
    try {
      assert.equal((await auth.verify(`Bearer ${token}`, connector.serviceUrl)).ok, true);
    } finally {
      await connector.up();
    }
  });

  it("refuses, without throwing, when the metadata cannot be read at all", async () => {
    const nobody = `http://127.0.0.1:${await freePort()}/v1/.well-known/openidconfiguration`;
    const cold = createBotAuthenticator({ appId: APP_ID, openIdMetadataUrl: nobody, fetchTimeoutMs: 2_000 });
    const result = await cold.verify(`Bearer ${await connector.signActivityToken()}`, connector.serviceUrl);
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.reason, /OpenID metadata unavailable/);
  });

  it("guards an inbound endpoint reached over HTTP (teamsRequest)", async () => {
    const endpoint = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const serviceUrl = (body as { serviceUrl?: unknown }).serviceUrl;
        const verdict = await auth.verify(request.headers.authorization, typeof serviceUrl === "string" ? serviceUrl : undefined);
        if (!verdict.ok) return response.writeHead(401).end(verdict.reason);
        const activity = parseActivity(body);
        response.writeHead(activity ? 200 : 400).end(activity?.type ?? "malformed");
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/integrations/teams/messages`;
    try {
      const activity = channelMessage(connector.serviceUrl);
      assert.deepEqual(await teamsRequest(url, activity, await connector.signActivityToken()), { status: 200, body: "message" });
      assert.equal((await teamsRequest(url, activity, null)).status, 401);
      assert.equal((await teamsRequest(url, activity, await connector.signActivityToken({ useForeignKey: true }))).status, 401);
      const moved = { ...activity, serviceUrl: "https://attacker.example/" };
      assert.equal((await teamsRequest(url, moved, await connector.signActivityToken())).status, 401);
    } finally {
      endpoint.closeAllConnections();
      await new Promise<void>((resolve) => endpoint.close(() => resolve()));
    }
  });
});

describe("Bot Connector access token", () => {
  let connector: BotConnector;

  before(async () => {
    connector = await startBotConnector({ appId: APP_ID, appPassword: APP_PASSWORD });
  });
  after(() => connector.close());

  it("is requested once for concurrent and sequential sends", async () => {
    const before = connector.tokenRequests;
    const tokens = createBotTokenSource({ tokenUrl: connector.tokenUrl, appId: APP_ID, appPassword: APP_PASSWORD });
    const client = createTeamsClient({ tokens });
    const sent = connector.activities.length;
    await Promise.all(Array.from({ length: 8 }, (_, index) => client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message", text: `c${index}` })));
    for (let index = 0; index < 4; index += 1) await client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message", text: `s${index}` });
    await connector.waitForActivities(sent + 12);
    assert.equal(connector.tokenRequests - before, 1);
    assert.equal(new Set(connector.activities.slice(sent).map((received) => received.token)).size, 1);
  });

  it("is requested again once it nears expiry", async () => {
    let clock = Date.now();
    const tokens = createBotTokenSource({ tokenUrl: connector.tokenUrl, appId: APP_ID, appPassword: APP_PASSWORD, now: () => clock });
    const before = connector.tokenRequests;
    const first = await tokens.token();
    clock += 3600_000 - 5 * 60_000 - 1_000;
    assert.equal(await tokens.token(), first, "still well within its lifetime");
    clock += 2_000;
    const second = await tokens.token();
    assert.notEqual(second, first);
    assert.equal(connector.tokenRequests - before, 2);
  });

  it("is dropped when the Bot Connector refuses it, and the call succeeds with a new one", async () => {
    const tokens = createBotTokenSource({ tokenUrl: connector.tokenUrl, appId: APP_ID, appPassword: APP_PASSWORD });
    const client = createTeamsClient({ tokens });
    await client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message", text: "before" });
    const before = connector.tokenRequests;
    connector.revokeTokens();
    const sent = connector.activities.length;
    await client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message", text: "after" });
    const [received] = await connector.waitForActivities(sent + 1).then((all) => all.slice(sent));
    assert.equal(connector.tokenRequests - before, 1);
    assert.equal(received?.token, await tokens.token());
  });

  it("is not cached when the request fails, and says whether retrying can help", async () => {
    const wrong = createBotTokenSource({ tokenUrl: connector.tokenUrl, appId: APP_ID, appPassword: "wrong" });
    const before = connector.tokenRequests;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await assert.rejects(wrong.token(), (error: unknown) => error instanceof BotTokenError && error.status === 401 && !error.transient);
    }
    assert.equal(connector.tokenRequests - before, 2);
    const otherScope = createBotTokenSource({ tokenUrl: connector.tokenUrl, appId: APP_ID, appPassword: APP_PASSWORD, scope: "https://graph.microsoft.com/.default" });
    await assert.rejects(otherScope.token(), (error: unknown) => error instanceof BotTokenError && error.status === 400);
    const nobody = createBotTokenSource({ tokenUrl: `http://127.0.0.1:${await freePort()}/token`, appId: APP_ID, appPassword: APP_PASSWORD });
    await assert.rejects(nobody.token(), (error: unknown) => error instanceof BotTokenError && error.transient);

    const client = createTeamsClient({ tokens: wrong });
    const failure = await callError(client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message" }));
    assert.equal(failure.kind, "fatal");
  });
});

describe("Bot Connector client", () => {
  let connector: BotConnector;
  const outcomes: [string, TeamsCallOutcome][] = [];
  let client: ReturnType<typeof createTeamsClient>;

  before(async () => {
    connector = await startBotConnector({ appId: APP_ID, appPassword: APP_PASSWORD });
    const tokens = createBotTokenSource({ tokenUrl: connector.tokenUrl, appId: APP_ID, appPassword: APP_PASSWORD });
    client = createTeamsClient({ tokens, timeoutMs: 5_000, onRequest: (operation, outcome) => outcomes.push([operation, outcome]) });
  });
  after(() => connector.close());

  it("posts to the conversation and replies in its thread", async () => {
    const sent = connector.activities.length;
    const posted = await client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message", text: "hello" });
    assert.match(posted.id ?? "", /^1:\d+$/);
    const replied = await client.replyToActivity(connector.serviceUrl.replace(/\/$/, ""), CONVERSATION, "1714558333456", { type: "message", text: "reply" });
    assert.match(replied.id ?? "", /^1:\d+$/);
    const [first, second] = (await connector.waitForActivities(sent + 2)).slice(sent);
    assert.deepEqual([first?.conversationId, first?.replyToId, first?.activity.text], [CONVERSATION, null, "hello"]);
    assert.deepEqual([second?.conversationId, second?.replyToId, second?.activity.text], [CONVERSATION, "1714558333456", "reply"]);
    assert.deepEqual(outcomes.slice(-2), [
      ["sendToConversation", "ok"],
      ["replyToActivity", "ok"],
    ]);
  });

  it("looks members up, and answers null for someone not in the conversation", async () => {
    connector.addMember(CONVERSATION, { id: "29:1ann", name: "Ann Smith", email: "ann@acme.test", aadObjectId: "aad-ann" });
    assert.deepEqual(await client.member(connector.serviceUrl, CONVERSATION, "29:1ann"), {
      id: "29:1ann",
      name: "Ann Smith",
      email: "ann@acme.test",
      userPrincipalName: "ann@acme.test",
      aadObjectId: "aad-ann",
    });
    assert.equal(await client.member(connector.serviceUrl, CONVERSATION, "29:1nobody"), null);
    assert.equal(await client.member(connector.serviceUrl, "19:other@thread.tacv2", "29:1ann"), null);
  });

  it("reports 429 as rate_limited with the Retry After delay, 5xx as transient, 4xx as fatal", async () => {
    connector.failNext(1, { status: 429, retryAfterSeconds: 7 });
    const limited = await callError(client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message" }));
    assert.deepEqual([limited.kind, limited.status, limited.retryAfterMs], ["rate_limited", 429, 7_000]);

    for (const status of [500, 503] as const) {
      connector.failNext(1, { status });
      const failed = await callError(client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message" }));
      assert.deepEqual([failed.kind, failed.status], ["transient", status]);
    }

    const refused = await callError(client.sendToConversation(connector.serviceUrl, CONVERSATION, { text: "an activity without a type" }));
    assert.deepEqual([refused.kind, refused.status], ["fatal", 400]);
    assert.equal((await callError(client.sendToConversation("file:///etc/passwd", CONVERSATION, { type: "message" }))).kind, "fatal");
    assert.equal(client.breakerState(), "closed");
    assert.deepEqual(
      outcomes.slice(-4).map(([, outcome]) => outcome),
      ["rate_limited", "transient", "transient", "fatal"],
    );
  });

  it("reports an unreachable Bot Connector as transient, and works again once it is back", async () => {
    await connector.down();
    try {
      const failed = await callError(client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message" }));
      assert.equal(failed.kind, "transient");
    } finally {
      await connector.up();
    }
    assert.match((await client.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message", text: "back" })).id ?? "", /^1:/);
  });

  it("opens its breaker after consecutive transient failures and fails fast as broken until a trial call succeeds", async () => {
    const tokens = createBotTokenSource({ tokenUrl: connector.tokenUrl, appId: APP_ID, appPassword: APP_PASSWORD });
    const fragile = createTeamsClient({ tokens, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 } });
    await fragile.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message", text: "warm" });
    connector.failNext(3, { status: 503 });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      assert.equal((await callError(fragile.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message" }))).kind, "transient");
    }
    assert.equal(fragile.breakerState(), "open");
    const reached = connector.conversationRequests;
    assert.equal((await callError(fragile.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message" }))).kind, "broken");
    assert.equal(connector.conversationRequests, reached, "an open breaker sends nothing");

    await waitFor(
      "the breaker to let a trial call through",
      async () => {
        try {
          await fragile.sendToConversation(connector.serviceUrl, CONVERSATION, { type: "message", text: "trial" });
          return true;
        } catch (error) {
          if (error instanceof TeamsCallError && error.kind === "broken") return false;
          throw error;
        }
      },
      () => fragile.breakerState(),
      5_000,
    );
    assert.equal(fragile.breakerState(), "closed");
  });
});

function channelMessage(serviceUrl: string, text = "<at>Sunday</at> create Fix login in Roadmap"): Json {
  return {
    text,
    textFormat: "plain",
    attachments: [{ contentType: "text/html", content: `<div><div>${text}</div></div>` }],
    type: "message",
    timestamp: "2024-05-01T10:12:13.456Z",
    localTimestamp: "2024-05-01T12:12:13.456+02:00",
    id: "1714558333456",
    channelId: "msteams",
    serviceUrl,
    from: { id: "29:1abcUserId", name: "Ann Smith", aadObjectId: "6f1c0b7e-aaaa-4bbb-8ccc-1d2e3f4a5b6c" },
    conversation: { isGroup: true, conversationType: "channel", tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", id: CONVERSATION },
    recipient: { id: BOT_ID, name: "Sunday" },
    entities: [
      { mentioned: { id: BOT_ID, name: "Sunday" }, text: "<at>Sunday</at>", type: "mention" },
      { locale: "en-US", country: "US", platform: "Web", timezone: "Europe/Berlin", type: "clientInfo" },
    ],
    channelData: {
      teamsChannelId: "19:0f1e2d3c4b5a@thread.tacv2",
      teamsTeamId: "19:team0001@thread.tacv2",
      channel: { id: "19:0f1e2d3c4b5a@thread.tacv2" },
      team: { id: "19:team0001@thread.tacv2" },
      tenant: { id: "72f988bf-86f1-41af-91ab-2d7cd011db47" },
    },
    locale: "en-US",
    localTimezone: "Europe/Berlin",
  };
}

const SERVICE_URL = "https://smba.trafficmanager.net/emea/";

function botAdded(): Json {
  return {
    membersAdded: [{ id: BOT_ID }],
    type: "conversationUpdate",
    timestamp: "2024-05-01T10:00:00.000Z",
    id: "f:6d7d3e0b-2c5a-7f39-9a1d-3bd1f1c1b2a4",
    channelId: "msteams",
    serviceUrl: SERVICE_URL,
    from: { id: "29:1abcUserId", aadObjectId: "6f1c0b7e-aaaa-4bbb-8ccc-1d2e3f4a5b6c" },
    conversation: { isGroup: true, conversationType: "channel", tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", id: "19:team0001@thread.tacv2" },
    recipient: { id: BOT_ID, name: "Sunday" },
    channelData: {
      team: { aadGroupId: "0c2c5b0a-1111-2222-3333-444455556666", name: "Marketing", id: "19:team0001@thread.tacv2" },
      eventType: "teamMemberAdded",
      tenant: { id: "72f988bf-86f1-41af-91ab-2d7cd011db47" },
      settings: { selectedChannel: { id: "19:team0001@thread.tacv2" } },
    },
  };
}

function cardAction(): Json {
  return {
    name: "adaptiveCard/action",
    type: "invoke",
    timestamp: "2024-05-01T10:20:00.000Z",
    id: "f:1c9b8a7d-0000-1111-2222-333344445555",
    channelId: "msteams",
    serviceUrl: SERVICE_URL,
    from: { id: "29:1bobUserId", name: "Bob Jones", aadObjectId: "aad-bob" },
    conversation: { isGroup: true, conversationType: "channel", tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", id: CONVERSATION },
    recipient: { id: BOT_ID, name: "Sunday" },
    entities: [{ locale: "en-US", country: "US", platform: "Windows", timezone: "Europe/Berlin", type: "clientInfo" }],
    channelData: { channel: { id: "19:0f1e2d3c4b5a@thread.tacv2" }, team: { id: "19:team0001@thread.tacv2" }, tenant: { id: "72f988bf-86f1-41af-91ab-2d7cd011db47" }, source: { name: "message" } },
    replyToId: "1:42",
    value: { action: { type: "Action.Execute", title: "Mark done", verb: CHAT_ACTIONS.markDone, data: { itemId: "item_1" } }, trigger: "manual" },
    locale: "en-US",
  };
}

describe("Teams activity parsing", () => {
  it("reads a channel message without the bot's mention", () => {
    assert.deepEqual(parseActivity(channelMessage(SERVICE_URL)), {
      type: "message",
      id: "1714558333456",
      serviceUrl: SERVICE_URL,
      conversationId: CONVERSATION,
      conversationType: "channel",
      fromId: "29:1abcUserId",
      fromAadObjectId: "6f1c0b7e-aaaa-4bbb-8ccc-1d2e3f4a5b6c",
      fromName: "Ann Smith",
      recipientId: BOT_ID,
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      teamId: "19:team0001@thread.tacv2",
      text: "create Fix login in Roadmap",
      mentions: [],
    });
  });

  it("keeps other people's mentions as @Name and lists them; decodes HTML entities", () => {
    const message = channelMessage(SERVICE_URL, "<at>Sunday</at> assign Fix&nbsp;login &amp; signup <at>Bob Jones</at>\n");
    (message.entities as Json[]).push({ mentioned: { id: "29:1bobUserId", name: "Bob Jones" }, text: "<at>Bob Jones</at>", type: "mention" });
    const parsed = parseActivity(message);
    assert.equal(parsed?.type, "message");
    if (parsed?.type !== "message") return;
    assert.equal(parsed.text, "assign Fix login & signup @Bob Jones");
    assert.deepEqual(parsed.mentions, [{ id: "29:1bobUserId", name: "Bob Jones" }]);
  });

  it("reads a 1:1 message without tenant or team data", () => {
    const message = channelMessage(SERVICE_URL, "help");
    message.conversation = { conversationType: "personal", id: "a:1personal" };
    message.entities = undefined;
    message.channelData = undefined;
    const parsed = parseActivity(message);
    assert.equal(parsed?.type, "message");
    if (parsed?.type !== "message") return;
    assert.deepEqual([parsed.text, parsed.conversationType, parsed.tenantId, parsed.teamId], ["help", "personal", null, null]);
  });

  it("reads the bot being added to a team, and removed", () => {
    assert.deepEqual(parseActivity(botAdded()), {
      type: "conversationUpdate",
      id: "f:6d7d3e0b-2c5a-7f39-9a1d-3bd1f1c1b2a4",
      serviceUrl: SERVICE_URL,
      conversationId: "19:team0001@thread.tacv2",
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      teamId: "19:team0001@thread.tacv2",
      botAdded: true,
      botRemoved: false,
      fromId: "29:1abcUserId",
      fromAadObjectId: "6f1c0b7e-aaaa-4bbb-8ccc-1d2e3f4a5b6c",
    });
    const someoneElse = { ...botAdded(), membersAdded: [{ id: "29:1newcomer" }] };
    assert.deepEqual(
      [parseActivity(someoneElse)].map((parsed) => parsed?.type === "conversationUpdate" && [parsed.botAdded, parsed.botRemoved]),
      [[false, false]],
    );
    const removed = { ...botAdded(), membersAdded: undefined, membersRemoved: [{ id: BOT_ID }] };
    const parsedRemoved = parseActivity(removed);
    assert.ok(parsedRemoved?.type === "conversationUpdate" && !parsedRemoved.botAdded && parsedRemoved.botRemoved);
  });

  it("reads an uninstall (installationUpdate remove) as the bot removed; other installation updates are ignored", () => {
    const uninstall = { ...botAdded(), type: "installationUpdate", action: "remove", membersAdded: undefined };
    const parsed = parseActivity(uninstall);
    assert.ok(parsed?.type === "conversationUpdate" && parsed.botRemoved && !parsed.botAdded);
    assert.deepEqual(parseActivity({ ...uninstall, action: "add" }), { type: "other", name: "installationUpdate" });
    assert.deepEqual(parseActivity({ type: "typing", id: "x" }), { type: "other", name: "typing" });
  });

  it("reads an Action.Execute press (adaptiveCard/action invoke)", () => {
    assert.deepEqual(parseActivity(cardAction()), {
      type: "invoke",
      name: "adaptiveCard/action",
      id: "f:1c9b8a7d-0000-1111-2222-333344445555",
      serviceUrl: SERVICE_URL,
      conversationId: CONVERSATION,
      fromId: "29:1bobUserId",
      fromAadObjectId: "aad-bob",
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      teamId: "19:team0001@thread.tacv2",
      verb: CHAT_ACTIONS.markDone,
      data: { itemId: "item_1" },
    });
    const other = parseActivity({ ...cardAction(), name: "composeExtension/query", value: { commandId: "search" } });
    assert.ok(other?.type === "invoke" && other.verb === null && Object.keys(other.data).length === 0);
  });

  it("answers null for malformed activities", () => {
    const long = "x".repeat(5_000);
    const message = channelMessage(SERVICE_URL);
    const malformed: [string, unknown][] = [
      ["null", null],
      ["a string", "message"],
      ["an array", [channelMessage(SERVICE_URL)]],
      ["no type", {}],
      ["a numeric type", { type: 7 }],
      ["a message without serviceUrl", { ...message, serviceUrl: undefined }],
      ["a message with a javascript: serviceUrl", { ...message, serviceUrl: "javascript:alert(1)" }],
      ["a message with a relative serviceUrl", { ...message, serviceUrl: "/amer/" }],
      ["a message from a string", { ...message, from: "29:1abc" }],
      ["a message without conversation id", { ...message, conversation: { conversationType: "channel" } }],
      ["a message without recipient", { ...message, recipient: null }],
      ["a message with numeric text", { ...message, text: 42 }],
      ["a message with entities that are not a list", { ...message, entities: { type: "mention" } }],
      ["a message with an absurd id", { ...message, id: long }],
      ["a message with an id of another type", { ...message, id: 1714558333456 }],
      ["a conversationUpdate without tenant", { ...botAdded(), conversation: { id: "19:x@thread.tacv2" }, channelData: {} }],
      ["a conversationUpdate with membersAdded not a list", { ...botAdded(), membersAdded: BOT_ID }],
      ["an invoke without name", { ...cardAction(), name: undefined }],
      ["an adaptiveCard/action without verb", { ...cardAction(), value: { action: { type: "Action.Execute", data: {} } } }],
      ["an adaptiveCard/action with data that is not an object", { ...cardAction(), value: { action: { verb: CHAT_ACTIONS.markDone, data: "item_1" } } }],
      ["an adaptiveCard/action without value", { ...cardAction(), value: undefined }],
    ];
    for (const [name, body] of malformed) assert.equal(parseActivity(body), null, name);
  });
});

function notice(overrides: Partial<ChatNotice> = {}): ChatNotice {
  return {
    eventId: "evt_1",
    kind: "item.status_changed",
    title: "Fix login",
    boardName: "Roadmap",
    actor: "Ann Smith",
    summary: "Status: Working on it → Done",
    url: "https://app.sunday.test/boards/b_1/items/item_1",
    itemId: "item_1",
    occurredAt: "2024-05-01T10:12:13.456Z",
    ...overrides,
  };
}

interface Activity {
  type: string;
  summary?: string;
  attachments: { contentType: string; content: Json }[];
}

/** Every object in the card, depth first. */
function walk(value: unknown, found: Json[] = []): Json[] {
  if (Array.isArray(value)) for (const entry of value) walk(entry, found);
  else if (typeof value === "object" && value !== null) {
    found.push(value as Json);
    for (const entry of Object.values(value)) walk(entry, found);
  }
  return found;
}

const ofType = (card: unknown, type: string) => walk(card).filter((element) => element.type === type);

describe("Teams cards", () => {
  it("render one notice as a message with one Adaptive Card 1.4 and its two buttons", () => {
    const activity = teamsNoticeActivity([notice()]) as Activity;
    assert.equal(activity.type, "message");
    assert.match(activity.summary ?? "", /Fix login \(Roadmap\): Status: Working on it → Done by Ann Smith/);
    assert.equal(activity.attachments.length, 1);
    const [attachment] = activity.attachments;
    assert.equal(attachment?.contentType, "application/vnd.microsoft.card.adaptive");
    const card = attachment?.content ?? {};
    assert.deepEqual([card.type, card.version, card.$schema], ["AdaptiveCard", "1.4", "http://adaptivecards.io/schemas/adaptive-card.json"]);
    assert.match(String(card.fallbackText), /Fix login/);
    assert.deepEqual(card.actions, [
      { type: "Action.OpenUrl", title: "View item", url: "https://app.sunday.test/boards/b_1/items/item_1" },
      { type: "Action.Execute", title: "Mark done", verb: "sunday.mark_done", data: { itemId: "item_1" } },
    ]);
    const runs = ofType(card, "TextRun").map((run) => run.text);
    assert.deepEqual(runs.slice(0, 3), ["Fix login", "Roadmap · Ann Smith", "Status: Working on it → Done"]);
    assert.deepEqual(ofType(card, "TextRun")[0], { type: "TextRun", text: "Fix login", weight: "Bolder", size: "Medium" });
    assert.ok(ofType(card, "TextBlock").some((block) => String(block.text).includes("{{DATE(2024-05-01T10:12:13Z, SHORT)}}")));
  });

  it("leave out the buttons a notice cannot have, and never link anything but web URLs", () => {
    const shared = teamsNoticeActivity([notice({ kind: "board.shared", url: null, itemId: null, actor: null })]) as Activity;
    assert.equal(shared.attachments[0]?.content.actions, undefined);
    assert.ok(ofType(shared, "TextRun").some((run) => run.text === "Roadmap · Sunday"));
    const hostile = teamsNoticeActivity([notice({ url: "javascript:alert(1)", title: "[urgent](https://evil.example) **now**" })]) as Activity;
    assert.deepEqual(ofType(hostile, "Action.OpenUrl"), []);
    assert.equal(ofType(hostile, "TextRun")[0]?.text, "[urgent](https://evil.example) **now**", "user text is a TextRun, never markdown");
    assert.ok(!ofType(hostile, "TextBlock").some((block) => String(block.text).includes("evil.example")));
    for (const occurredAt of ["2024-13-45T99:00:00Z", "yesterday"]) {
      const odd = teamsNoticeActivity([notice({ occurredAt })]) as Activity;
      assert.ok(
        ofType(odd, "TextRun").some((run) => run.text === occurredAt),
        "an unreadable time is shown as it is",
      );
    }
  });

  it("render a burst as one card: a heading and a Container with its own buttons per notice, at most 20", () => {
    const three = teamsNoticeActivity([notice(), notice({ eventId: "evt_2", title: "Ship it", itemId: "item_2" }), notice({ eventId: "evt_3", url: null })]) as Activity;
    const card = three.attachments[0]?.content ?? {};
    assert.equal(ofType(card, "TextBlock")[0]?.text, "3 updates");
    const containers = ofType(card, "Container");
    assert.equal(containers.length, 3);
    assert.deepEqual(
      containers.map((container) => ofType(container, "Action.Execute").map((action) => (action.data as Json).itemId)),
      [["item_1"], ["item_2"], ["item_1"]],
    );
    assert.equal(ofType(containers[2], "Action.OpenUrl").length, 0);
    assert.equal(ofType(card, "ActionSet").length, 3);
    assert.equal(card.actions, undefined);
    assert.match(three.summary ?? "", /3 updates on Roadmap/);

    const many = teamsNoticeActivity(Array.from({ length: 25 }, (_, index) => notice({ eventId: `evt_${index}`, title: `Item ${index}` }))) as Activity;
    const manyCard = many.attachments[0]?.content ?? {};
    assert.equal(ofType(manyCard, "Container").length, 20);
    assert.ok(ofType(manyCard, "TextBlock").some((block) => block.text === "and 5 more"));
    assert.equal(ofType(manyCard, "TextBlock")[0]?.text, "25 updates");
  });

  const reply: ChatReply = {
    text: 'Several boards match "Road"',
    lines: ["Roadmap (Product)", "Roadmap (Sales)"],
    choices: [
      { label: "Roadmap (Product)", command: "list board_1" },
      { label: "Roadmap (Sales)", command: "list board_2" },
    ],
    link: { label: "Open Sunday", url: "https://app.sunday.test/" },
    ephemeral: true,
  };

  it("render a reply with its choices as Action.Execute buttons and its link as Action.OpenUrl", () => {
    const activity = teamsReplyActivity(reply) as Activity;
    assert.equal(activity.type, "message");
    const card = activity.attachments[0]?.content ?? {};
    assert.equal(activity.attachments[0]?.contentType, "application/vnd.microsoft.card.adaptive");
    assert.deepEqual(card.actions, [
      { type: "Action.Execute", title: "Roadmap (Product)", verb: "sunday.choose", data: { command: "list board_1" } },
      { type: "Action.Execute", title: "Roadmap (Sales)", verb: "sunday.choose", data: { command: "list board_2" } },
      { type: "Action.OpenUrl", title: "Open Sunday", url: "https://app.sunday.test/" },
    ]);
    assert.deepEqual(
      ofType(card, "TextRun").map((run) => run.text),
      [reply.text, ...(reply.lines ?? [])],
    );
    const plain = teamsReplyActivity({ text: "Created Fix login", ephemeral: false }) as Activity;
    assert.equal(plain.attachments[0]?.content.actions, undefined);
    assert.equal(plain.summary, "Created Fix login");
  });

  it("answer an adaptiveCard/action invoke with the card that replaces the pressed one", () => {
    const response = adaptiveCardInvokeResponse({ text: "Fix login is done", ephemeral: false });
    assert.equal(response.status, 200);
    const body = response.body as { statusCode: number; type: string; value: Json };
    assert.equal(body.statusCode, 200);
    assert.equal(body.type, "application/vnd.microsoft.card.adaptive");
    assert.deepEqual([body.value.type, body.value.version], ["AdaptiveCard", "1.4"]);
    assert.equal(ofType(body.value, "TextRun")[0]?.text, "Fix login is done");
  });
});
