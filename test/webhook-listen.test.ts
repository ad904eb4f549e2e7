// scripts/webhooks-listen.ts started in-process on a free loopback port, fed requests signed by the
// reference Standard Webhooks library (the `standardwebhooks` package).
// What it promises: a correctly signed delivery gets 204 and a line saying it verified, with its id,
// event type and size; so does what our own signer sends (two secrets while rotating); a wrong secret
// or a stale timestamp gets 401 and the reason, in the line and in the answer; without a secret
// deliveries are accepted and marked unverified; --fail answers its status to deliveries that pass
// (never to badly signed ones); --verbose prints the body; only POST is accepted.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { startWebhookListener, type WebhookListener, type WebhookListenerOptions } from "../scripts/webhooks-listen.ts";
import { EVENT_TYPE_HEADER, generateWebhookSecret, webhookHeaders } from "../subgraphs/integrations/runtime/webhooks/signature.ts";

const SECRET = generateWebhookSecret();
const NOW = new Date("2026-01-15T12:00:00.000Z");
const BODY = JSON.stringify({ id: "3f1c0c9e-0000-4000-8000-000000000001", type: "project.item.created", data: { name: "Ünïcode ✓" } });
const BODY_BYTES = Buffer.byteLength(BODY, "utf8");

interface Started {
  readonly listener: WebhookListener;
  readonly lines: string[];
}

const started: WebhookListener[] = [];

async function listen(options: Omit<WebhookListenerOptions, "port" | "print" | "clock"> = {}): Promise<Started> {
  const lines: string[] = [];
  const listener = await startWebhookListener({ port: 0, clock: () => NOW, print: (line) => lines.push(line), ...options });
  started.push(listener);
  return { listener, lines };
}

after(async () => {
  await Promise.all(started.map((listener) => listener.close()));
});

/** POSTs BODY signed as the reference library would, with `secret` at `at`. */
function deliver(url: string, options: { secret?: string; at?: Date; id?: string } = {}): Promise<Response> {
  const { secret = SECRET, at = NOW, id = "msg_2a1b" } = options;
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(id, at, BODY),
      [EVENT_TYPE_HEADER]: "project.item.created",
    },
    body: BODY,
  });
}

describe("webhooks-listen with a secret", () => {
  let listening: Started;
  before(async () => {
    listening = await listen({ secret: SECRET });
  });

  it("listens on loopback at the free port it was given", () => {
    assert.match(listening.listener.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.notEqual(listening.listener.url, "http://127.0.0.1:0/");
  });

  it("answers 204 to a correctly signed delivery and prints a line saying it verified", async () => {
    const response = await deliver(listening.listener.url, { id: "msg_good" });
    assert.equal(response.status, 204);
    const line = listening.lines.at(-1) ?? "";
    assert.match(line, /msg_good {2}project\.item\.created {2}✓ verified/);
    assert.ok(line.includes(`${BODY_BYTES} B`), line);
    assert.ok(line.endsWith("→ 204"), line);
  });

  it("verifies what our dispatcher sends, during a secret rotation too", async () => {
    const timestamp = Math.floor(NOW.getTime() / 1000);
    const headers = webhookHeaders({ id: "msg_ours", timestamp, body: BODY, eventType: "project.item.created" }, [generateWebhookSecret(), SECRET]);
    const response = await fetch(listening.listener.url, { method: "POST", headers: { ...headers }, body: BODY });
    assert.equal(response.status, 204);
    assert.match(listening.lines.at(-1) ?? "", /msg_ours {2}project\.item\.created {2}✓ verified/);
  });

  it("answers 401 to a delivery signed with another secret, with the reason", async () => {
    const before = listening.lines.length;
    const response = await deliver(listening.listener.url, { id: "msg_wrong", secret: generateWebhookSecret() });
    assert.equal(response.status, 401);
    assert.equal(await response.text(), "no matching signature\n");
    assert.equal(listening.lines.length, before + 1);
    assert.match(listening.lines.at(-1) ?? "", /msg_wrong {2}project\.item\.created {2}✗ no matching signature .*→ 401$/);
  });

  it("answers 401 to a correctly signed delivery whose timestamp is over 5 minutes old", async () => {
    const response = await deliver(listening.listener.url, { id: "msg_stale", at: new Date(NOW.getTime() - 6 * 60_000) });
    assert.equal(response.status, 401);
    assert.equal(await response.text(), "timestamp too old (360 s ago)\n");
    assert.match(listening.lines.at(-1) ?? "", /msg_stale .*✗ timestamp too old \(360 s ago\) .*→ 401$/);
  });

  it("answers 401 to an unsigned request", async () => {
    const response = await fetch(listening.listener.url, { method: "POST", body: BODY });
    assert.equal(response.status, 401);
    assert.match(listening.lines.at(-1) ?? "", /- {2}project\.item\.created {2}✗ missing or repeated webhook-id, webhook-timestamp, webhook-signature/);
  });

  it("refuses anything but POST without printing a delivery", async () => {
    const before = listening.lines.length;
    const response = await fetch(listening.listener.url);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
    await response.arrayBuffer();
    assert.equal(listening.lines.length, before);
  });
});

describe("webhooks-listen without a secret", () => {
  it("accepts deliveries and marks them unverified", async () => {
    const { listener, lines } = await listen();
    const response = await deliver(listener.url, { id: "msg_any", secret: generateWebhookSecret() });
    assert.equal(response.status, 204);
    assert.match(lines.at(-1) ?? "", /msg_any {2}project\.item\.created {2}\? unverified .*→ 204$/);
  });
});

describe("webhooks-listen --fail and --verbose", () => {
  it("answers the --fail status to deliveries that verify, 401 still to those that do not", async () => {
    const { listener, lines } = await listen({ secret: SECRET, fail: 500 });
    const failing = await deliver(listener.url, { id: "msg_retry" });
    assert.equal(failing.status, 500);
    assert.equal(await failing.text(), "webhooks-listen --fail 500\n");
    assert.match(lines.at(-1) ?? "", /msg_retry .*✓ verified .*→ 500$/);
    const gone = await listen({ secret: SECRET, fail: 410 });
    assert.equal((await deliver(gone.listener.url)).status, 410);
    assert.equal((await deliver(listener.url, { secret: generateWebhookSecret() })).status, 401);
  });

  it("prints the body as indented JSON after the line with --verbose", async () => {
    const { listener, lines } = await listen({ secret: SECRET, verbose: true });
    assert.equal((await deliver(listener.url)).status, 204);
    assert.match(lines.at(-2) ?? "", /✓ verified/);
    assert.equal(lines.at(-1), JSON.stringify(JSON.parse(BODY), null, 2));
  });

  it("refuses to start with a malformed secret or status", async () => {
    await assert.rejects(startWebhookListener({ port: 0, secret: "not-a-secret" }), /must start with "whsec_"/);
    await assert.rejects(startWebhookListener({ port: 0, fail: 99 }), RangeError);
  });
});
