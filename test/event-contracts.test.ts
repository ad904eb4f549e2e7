import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { contractOf, knownEventTypes, parseEventMessage, topicOf, validateEvent, type ValidationResult } from "../events/contracts/registry.ts";
import { claimDue, enqueueDeliveries, recordAttempt } from "../subgraphs/integrations/runtime/webhooks/queue.ts";
import { startHarness, type Harness } from "./support/harness.ts";
import { MUTATIONS } from "./support/mutations.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SUBGRAPHS = join(ROOT, "subgraphs");

/** Event types emitted by the gateway's subscription layer, not by a subgraph. */
const NOT_FROM_SUBGRAPHS = new Set(["presence.joined", "presence.left"]);

interface Emission {
  eventType: string;
  schemaVersion: number;
  subgraph: string;
  at: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "generated" ? [] : sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** The text of the call starting at `open` (the index of its "("), up to the matching ")". */
function callText(source: string, open: number): string {
  let depth = 0;
  for (let index = open; index < source.length; index += 1) {
    const char = source[index];
    if (char === "(") depth += 1;
    if (char === ")" && --depth === 0) return source.slice(open, index + 1);
  }
  return source.slice(open);
}

/**
 * Every `recordEvent(tx, origin, { eventType: "…", … })` (or `versionedWrite(…)`) in the subgraphs' sources, read from the
 * code itself, so an event added without a contract fails here rather than in production.
 */
function emittedEvents(): Emission[] {
  const emissions: Emission[] = [];
  for (const subgraph of readdirSync(SUBGRAPHS)) {
    if (subgraph === "shared") continue;
    for (const file of sourceFiles(join(SUBGRAPHS, subgraph))) {
      const source = readFileSync(file, "utf8");
      // recordEvent writes an outbox row; versionedWrite and versionedStatement (subgraphs/shared/versioned-write.ts)
      // write one, and so does items' changeItem (through versionedStatement).
      for (const match of source.matchAll(/(?<!function )\b(?:recordEvent|versionedWrite|versionedStatement|changeItem)\(/g)) {
        const call = callText(source, (match.index ?? 0) + match[0].length - 1);
        const at = `${relative(ROOT, file)}:${source.slice(0, match.index).split("\n").length}`;
        const expression = /eventType:\s*([^\n]+)/.exec(call)?.[1] ?? "";
        const types = [...expression.matchAll(/"([^"]+)"/g)].map((literal) => literal[1] ?? "");
        assert.ok(types.length > 0, `${at}: eventType must be written as string literal(s) so its contract can be checked (got ${expression})`);
        const schemaVersion = Number(/schemaVersion:\s*(\d+)/.exec(call)?.[1] ?? 1);
        for (const eventType of types) emissions.push({ eventType, schemaVersion, subgraph, at });
      }
    }
  }
  return emissions;
}

const id = () => randomUUID();

/** A well-formed envelope around `data`, with the aggregate type its contract expects. */
function envelope(eventType: string, schemaVersion: number, data: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const contract = contractOf(eventType, schemaVersion);
  return {
    eventId: id(),
    eventType,
    schemaVersion,
    aggregateId: id(),
    aggregateType: contract?.aggregateType ?? "Item",
    version: contract?.producer === "gateway" ? 0 : 3,
    data,
    metadata: {
      correlationId: id(),
      userId: id(),
      organizationId: id(),
      timestamp: new Date().toISOString(),
      source: contract?.producer ?? "items",
    },
    ...overrides,
  };
}

const itemUpdatedV1Data = () => ({
  boardId: id(),
  itemId: id(),
  changes: { name: { from: "Draft", to: "Final" }, status: { from: null, to: "Done" }, assignees: { added: [id()], removed: [] } },
});
const itemUpdatedV2Data = () => ({
  boardId: id(),
  itemId: id(),
  changes: {
    name: { from: "Draft", to: "Final" },
    columnValues: [{ columnId: id(), columnType: "STATUS", from: null, to: { label: "Done" } }],
  },
});

/** One valid `data` per (eventType, schemaVersion), shaped like what the producers write. */
const SAMPLES: Record<string, () => Record<string, unknown>> = {
  "user.created@1": () => ({ userId: id(), email: "ada@acme.example", name: "Ada" }),
  "user.updated@1": () => ({ userId: id(), changes: { title: { from: null, to: "CTO" }, avatarUrl: { from: "https://x.example/a.png", to: null } } }),
  "member.added@1": () => ({ userId: id(), role: "MEMBER" }),
  "member.removed@1": () => ({ userId: id(), role: "GUEST" }),
  "member.role_changed@1": () => ({ userId: id(), changes: { role: { from: "MEMBER", to: "ADMIN" } } }),
  "api_key.created@1": () => ({ apiKeyId: id(), name: "Partner sync", prefix: "sk_sunday_abcd", role: "MEMBER" }),
  "api_key.revoked@1": () => ({ apiKeyId: id() }),
  "project.workspace.created@1": () => ({ workspaceId: id(), name: "Marketing" }),
  "project.created@1": () => ({ boardId: id(), workspaceId: id(), name: "Launch", kind: "PRIVATE", ownerId: id() }),
  "project.updated@1": () => ({ boardId: id(), changes: { description: { from: null, to: "Q3 launch" }, kind: { from: "PUBLIC", to: "SHAREABLE" } } }),
  "project.archived@1": () => ({ boardId: id() }),
  "project.group.created@1": () => ({ boardId: id(), groupId: id(), name: "This week", color: "#579bfc", position: 3 }),
  "project.group.updated@1": () => ({ boardId: id(), groupId: id(), changes: { position: { from: 3, to: 1.5 } } }),
  "project.group.archived@1": () => ({ boardId: id(), groupId: id() }),
  "project.column.created@1": () => ({ boardId: id(), columnId: id(), title: "Status", type: "STATUS", settings: { labels: ["Done"] }, position: 2 }),
  "project.column.updated@1": () => ({ boardId: id(), columnId: id(), changes: { settings: { from: {}, to: { labels: ["Stuck"] } } } }),
  "project.column.archived@1": () => ({ boardId: id(), columnId: id() }),
  "project.member.added@1": () => ({ boardId: id(), userId: id(), permission: "EDITOR" }),
  "project.member.removed@1": () => ({ boardId: id(), userId: id() }),
  "project.item.created@1": () => ({
    boardId: id(),
    groupId: id(),
    itemId: id(),
    name: "Write the brief",
    position: 61,
    assigneeIds: [id()],
    columnValues: [
      { columnId: id(), value: 42 },
      { columnId: id(), value: { label: "Working on it" } },
    ],
  }),
  "project.item.updated@1": itemUpdatedV1Data,
  "project.item.updated@2": itemUpdatedV2Data,
  "project.item.moved@1": () => ({ boardId: id(), itemId: id(), from: { groupId: id(), position: 4 }, to: { groupId: id(), position: 1 } }),
  "project.item.deleted@1": () => ({ boardId: id(), groupId: id(), itemId: id() }),
  "project.item.column_value.set@1": () => ({ boardId: id(), itemId: id(), columnId: id(), columnType: "TEXT", from: null, to: "hello" }),
  "project.item.subitem.created@1": () => ({ boardId: id(), itemId: id(), subitemId: id(), name: "Step one" }),
  "comment.added@1": () => ({ boardId: id(), itemId: id(), commentId: id(), authorId: id(), body: "Looks good" }),
  "integration.enabled@1": () => ({ integrationId: id(), type: "SLACK", boardId: null }),
  "integration.disabled@1": () => ({ integrationId: id(), type: "TEAMS", boardId: id() }),
  "webhook.created@1": () => ({ webhookId: id(), url: "https://example.invalid/hook", events: ["project.item.created"], boardId: null }),
  "webhook.enabled@1": () => ({ webhookId: id() }),
  "webhook.disabled@1": () => ({ webhookId: id() }),
  "webhook.deleted@1": () => ({ webhookId: id() }),
  "webhook.secret_rotated@1": () => ({ webhookId: id() }),
  "integration.webhook.disabled@1": () => ({ webhookId: id(), reason: "the endpoint answered 410 Gone", consecutiveFailures: 1 }),
  "presence.joined@1": () => ({ boardId: id(), userId: id() }),
  "presence.left@1": () => ({ boardId: id(), userId: id() }),
};

function sample(eventType: string, schemaVersion = 1) {
  const data = SAMPLES[`${eventType}@${schemaVersion}`];
  assert.ok(data, `no sample for ${eventType} v${schemaVersion}`);
  return envelope(eventType, schemaVersion, data());
}

function assertValid(result: ValidationResult, what: string) {
  assert.ok(result.ok, `${what}: ${result.ok ? "" : `${result.reason}: ${result.errors.join("; ")}`}`);
}

/** Refused, for `reason`, with an error line containing each of `errors`. */
function assertInvalid(result: ValidationResult, reason: string | RegExp, errors: string[]) {
  assert.equal(result.ok, false, "expected the event to be refused");
  if (result.ok) return;
  if (typeof reason === "string") assert.equal(result.reason, reason);
  else assert.match(result.reason, reason);
  for (const expected of errors) {
    assert.ok(
      result.errors.some((line) => line.includes(expected)),
      `no error line contains ${JSON.stringify(expected)}; got ${JSON.stringify(result.errors)}`,
    );
  }
}

describe("event contracts", () => {
  const emissions = emittedEvents();
  const known = knownEventTypes();
  const isKnown = (eventType: string, schemaVersion: number) => known.some((k) => k.eventType === eventType && k.schemaVersion === schemaVersion);

  it("finds the events the subgraphs emit in their sources", () => {
    assert.ok(emissions.length >= 30, `only ${emissions.length} recordEvent calls found`);
    for (const subgraph of ["users", "projects", "items", "integrations"]) {
      assert.ok(
        emissions.some((emission) => emission.subgraph === subgraph),
        `no event found in subgraphs/${subgraph}`,
      );
    }
  });

  it("has a contract for every event type and schema version a subgraph emits, with that subgraph as producer", () => {
    const missing = emissions.filter((emission) => !isKnown(emission.eventType, emission.schemaVersion));
    assert.deepEqual(
      missing.map((m) => `${m.eventType} v${m.schemaVersion} (${m.at})`),
      [],
      "events emitted without a contract",
    );
    for (const emission of emissions) {
      assert.equal(contractOf(emission.eventType, emission.schemaVersion)?.producer, emission.subgraph, `${emission.eventType} at ${emission.at}`);
    }
  });

  it("has no contract nobody emits (except the gateway's presence events and newer versions kept side by side)", () => {
    const emitted = new Set(emissions.map((emission) => emission.eventType));
    const orphans = known.filter(({ eventType }) => !emitted.has(eventType) && !NOT_FROM_SUBGRAPHS.has(eventType));
    assert.deepEqual(orphans, []);
  });

  it("covers every event the mutation table expects", () => {
    for (const mutation of MUTATIONS) {
      for (const eventType of mutation.events) assert.ok(isKnown(eventType, 1), `${mutation.name} emits ${eventType}`);
    }
  });

  it("lists versions in the registry keyed by (eventType, schemaVersion)", () => {
    assert.equal(new Set(known.map((k) => `${k.eventType}@${k.schemaVersion}`)).size, known.length);
    const itemUpdated = known.filter((k) => k.eventType === "project.item.updated").map((k) => k.schemaVersion);
    assert.deepEqual(itemUpdated, [1, 2]);
    for (const eventType of ["presence.joined", "presence.left"]) assert.ok(isKnown(eventType, 1), eventType);
  });

  it("has a sample for every contract, and every sample validates", () => {
    assert.deepEqual(
      known.map((k) => `${k.eventType}@${k.schemaVersion}`).filter((k) => !(k in SAMPLES)),
      [],
      "contracts without a sample in this test",
    );
    for (const { eventType, schemaVersion } of known) assertValid(validateEvent(sample(eventType, schemaVersion)), `${eventType} v${schemaVersion}`);
  });

  it("accepts an envelope without the optional causationId and userId, and with them", () => {
    const event = sample("comment.added");
    const { userId: _userId, ...metadata } = event.metadata;
    assertValid(validateEvent({ ...event, metadata }), "no userId");
    assertValid(validateEvent({ ...event, metadata: { ...event.metadata, causationId: id() } }), "with causationId");
  });

  it("routes event types to their topics through the outbox's routing", () => {
    assert.equal(topicOf("project.item.updated"), "item-events");
    assert.equal(topicOf("project.created"), "project-events");
    assert.equal(topicOf("member.added"), "user-events");
    assert.equal(topicOf("presence.joined"), "collaboration-events");
    assert.equal(topicOf("comment.added"), "collaboration-events");
    assert.equal(topicOf("webhook.created"), "general-events");
  });

  describe("refuses bad events with readable reasons", () => {
    it("a missing data field", () => {
      const event = sample("project.item.created");
      const { itemId: _itemId, ...data } = event.data;
      assertInvalid(validateEvent({ ...event, data }), "project.item.created v1 does not match its contract", ['/data is missing required property "itemId"']);
    });

    it("a missing envelope field", () => {
      const event = sample("project.created");
      const { organizationId: _organizationId, ...metadata } = event.metadata;
      const { eventId: _eventId, ...rest } = { ...event, metadata };
      assertInvalid(validateEvent(rest), "invalid envelope", ['(root) is missing required property "eventId"', '/metadata is missing required property "organizationId"']);
    });

    it("wrong types", () => {
      const event = sample("project.item.updated");
      assertInvalid(validateEvent({ ...event, version: "2" }), "invalid envelope", ['/version must be integer (got string "2")']);
      assertInvalid(validateEvent({ ...event, data: { ...event.data, changes: { name: { from: "a", to: 7 } } } }), /does not match its contract/, [
        "/data/changes/name/to must be string (got integer 7)",
      ]);
      assertInvalid(validateEvent({ ...sample("member.added"), data: { userId: id(), role: "KING" } }), /member.added v1/, [
        '/data/role must be one of "OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST" (got "KING")',
      ]);
      assertInvalid(validateEvent("an event"), "invalid envelope", ["(root) must be object (got string"]);
      assertInvalid(validateEvent(null), "invalid envelope", ["(root) must be object (got null)"]);
    });

    it("an unknown event type", () => {
      assertInvalid(validateEvent(envelope("project.item.exploded", 1, {})), 'unknown event type "project.item.exploded"', ['/eventType "project.item.exploded" has no contract']);
    });

    it("an unknown schema version of a known type", () => {
      assertInvalid(validateEvent(envelope("project.item.updated", 3, itemUpdatedV1Data())), "unknown schema version 3 of project.item.updated", [
        "/schemaVersion must be one of 1, 2 for project.item.updated (got 3)",
      ]);
      assertInvalid(validateEvent(envelope("comment.added", 0, {})), "invalid envelope", ["/schemaVersion must be >= 1"]);
    });

    it("an extra envelope or metadata property", () => {
      const event = sample("webhook.deleted");
      assertInvalid(validateEvent({ ...event, payload: {} }), "invalid envelope", ['(root) has unknown property "payload"']);
      assertInvalid(validateEvent({ ...event, metadata: { ...event.metadata, ip: "10.0.0.1" } }), "invalid envelope", ['/metadata has unknown property "ip"']);
    });

    it("an extra data property", () => {
      const event = sample("webhook.created");
      assertInvalid(validateEvent({ ...event, data: { ...event.data, secret: "s3cr3t" } }), /webhook.created v1/, ['/data has unknown property "secret"']);
    });

    it("a bad uuid", () => {
      const event = sample("comment.added");
      assertInvalid(validateEvent({ ...event, eventId: "not-a-uuid" }), "invalid envelope", ['/eventId must be a uuid (got "not-a-uuid")']);
      assertInvalid(validateEvent({ ...event, data: { ...event.data, itemId: "42" } }), /comment.added v1/, ['/data/itemId must be a uuid (got "42")']);
    });

    it("a bad timestamp", () => {
      const event = sample("comment.added");
      for (const timestamp of ["yesterday", "2024-13-45T10:00:00Z", "2024-05-01 10:00", 1_714_557_600_000]) {
        const result = validateEvent({ ...event, metadata: { ...event.metadata, timestamp } });
        assertInvalid(result, "invalid envelope", ["/metadata/timestamp must be"]);
      }
    });

    it("an aggregate type or version its contract does not allow", () => {
      assertInvalid(validateEvent({ ...sample("project.item.deleted"), aggregateType: "Board" }), /project.item.deleted v1/, ['/aggregateType must be "Item" for project.item.deleted (got "Board")']);
      assertInvalid(validateEvent({ ...sample("project.item.deleted"), version: 0 }), /project.item.deleted v1/, ["/version must be at least 1"]);
      assertInvalid(validateEvent({ ...sample("presence.joined"), version: 4 }), /presence.joined v1/, ["/version must be 0 for presence.joined"]);
    });
  });

  describe("project.item.updated v1 and v2 side by side", () => {
    it("each version validates its own shape", () => {
      assertValid(validateEvent(envelope("project.item.updated", 1, itemUpdatedV1Data())), "v1");
      assertValid(validateEvent(envelope("project.item.updated", 2, itemUpdatedV2Data())), "v2");
      // What updateItem / assignUsers write today: only what changed, possibly nothing.
      assertValid(validateEvent(envelope("project.item.updated", 1, { boardId: id(), itemId: id(), changes: { assignees: { added: [], removed: [id()] } } })), "v1 assignees only");
      assertValid(validateEvent(envelope("project.item.updated", 2, { boardId: id(), itemId: id(), changes: { columnValues: [] } })), "v2 no column change");
    });

    it("v2 refuses v1's shape: status is a column entry now, columnValues is required", () => {
      assertInvalid(validateEvent(envelope("project.item.updated", 2, itemUpdatedV1Data())), "project.item.updated v2 does not match its contract", [
        '/data/changes is missing required property "columnValues"',
        '/data/changes has unknown property "status"',
      ]);
    });

    it("v1 refuses v2's shape: it has no columnValues", () => {
      assertInvalid(validateEvent(envelope("project.item.updated", 1, itemUpdatedV2Data())), "project.item.updated v1 does not match its contract", [
        '/data/changes has unknown property "columnValues"',
      ]);
    });
  });

  describe("Kafka message values", () => {
    it("parses a Buffer or a string into a validated event", () => {
      const event = sample("project.item.moved");
      const fromBuffer = parseEventMessage(Buffer.from(JSON.stringify(event)));
      assertValid(fromBuffer, "Buffer");
      assert.deepEqual(fromBuffer.ok && fromBuffer.event, event);
      assertValid(parseEventMessage(JSON.stringify(event)), "string");
      const bytes = new TextEncoder().encode(JSON.stringify(event));
      assertValid(parseEventMessage(bytes), "Uint8Array");
    });

    it("refuses what is not JSON, or no value at all, as not JSON", () => {
      assertInvalid(parseEventMessage(Buffer.from("{not json")), "not JSON", ["JSON"]);
      assertInvalid(parseEventMessage(""), "not JSON", []);
      assertInvalid(parseEventMessage(null), "not JSON", ["the message has no value"]);
    });

    it("refuses JSON that is not a valid event with the event's reason", () => {
      assertInvalid(parseEventMessage("[]"), "invalid envelope", ["(root) must be object (got array)"]);
      const event = sample("comment.added");
      assertInvalid(parseEventMessage(JSON.stringify({ ...event, eventType: "comment.removed" })), 'unknown event type "comment.removed"', []);
    });
  });
});

describe("event contracts against real emitted events (Postgres, the whole stack)", () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness("contracts");
  });
  after(() => harness?.dispose());

  it("every outbox envelope written by every mutation validates, and every emitted event type is exercised", async () => {
    const token = await harness.token(0, "OWNER");
    for (const mutation of MUTATIONS) {
      const result = await harness.gql(token, mutation.query, await mutation.variables(harness));
      assert.equal(result.body.errors, undefined, `${mutation.name}: ${JSON.stringify(result.body.errors)}`);
    }
    // The table switches a webhook off only; switch a fresh one on too, so webhook.enabled is real as well.
    const created = await harness.gql(token, `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }`, {
      input: { url: "https://example.invalid/contracts?x=|y", events: ["project.item.updated", "comment.added"] },
    });
    assert.equal(created.body.errors, undefined, JSON.stringify(created.body.errors));
    const webhookId = (created.body.data!.createWebhook as { webhook: { id: string } }).webhook.id;
    const enabled = await harness.gql(token, `mutation($input: SetWebhookEnabledInput!) { setWebhookEnabled(input: $input) { id } }`, {
      input: { id: webhookId, enabled: true, expectedVersion: 1 },
    });
    assert.equal(enabled.body.errors, undefined, JSON.stringify(enabled.body.errors));
    // The delivery runtime writes integration.webhook.disabled, not a mutation: take a delivery to
    // that webhook through the queue (no dispatcher runs in the harness) and have its endpoint answer 410.
    const acme = harness.seed.organizations[0];
    const commented = sample("comment.added");
    const event = validateEvent({ ...commented, metadata: { ...commented.metadata, organizationId: acme.id } });
    assert.ok(event.ok, event.ok ? "" : event.errors.join("; "));
    assert.equal(await enqueueDeliveries(harness.prisma, event.event), 1);
    // Slightly ahead: the row is due at the database's now(), which must not be after ours.
    const claimed = (await claimDue(harness.prisma, { now: new Date(Date.now() + 1_000) })).filter((row) => row.webhookId === webhookId && row.eventId === event.event.eventId);
    const [delivery] = claimed;
    assert.ok(delivery && claimed.length === 1, `claimed ${claimed.length} deliveries of the webhook`);
    const recorded = await recordAttempt(harness.prisma, delivery, { status: 410, durationMs: 1 });
    assert.equal(recorded.webhookDisabled, true);

    const rows = await harness.prisma.outboxEvent.findMany({ orderBy: { sequence: "asc" } });
    assert.ok(rows.length >= MUTATIONS.length, `only ${rows.length} outbox rows`);
    const refused: string[] = [];
    for (const row of rows) {
      const verdict = validateEvent(row.envelope);
      if (!verdict.ok) {
        refused.push(`${row.eventType} v${row.schemaVersion}: ${verdict.reason}: ${verdict.errors.join("; ")}`);
        continue;
      }
      assert.equal(verdict.event.eventType, row.eventType);
      assert.equal(verdict.event.schemaVersion, row.schemaVersion);
      assert.equal(topicOf(verdict.event.eventType), row.topic);
      assert.equal(verdict.event.metadata.source, contractOf(row.eventType, row.schemaVersion)?.producer, row.eventType);
      // What the relay publishes is the JSON of the envelope: it must survive the trip.
      assertValid(parseEventMessage(Buffer.from(JSON.stringify(row.envelope))), `${row.eventType} as a Kafka value`);
    }
    assert.deepEqual(refused, [], "real events refused by their contracts");

    const seen = new Set(rows.map((row) => `${row.eventType}@${row.schemaVersion}`));
    const unexercised = [...new Set(emittedEvents().map((emission) => `${emission.eventType}@${emission.schemaVersion}`))].filter((key) => !seen.has(key));
    assert.deepEqual(unexercised, [], "emitted event types no real event covered");
  });
});
