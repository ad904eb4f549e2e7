// Pure logic of subscription payloads (no services): which federated query a subscription needs
// per event, and how one event plus the federated answer becomes the client's result.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { buildSchema, getNamedType, getOperationAST, isObjectType, parse, validate, type FieldNode } from "graphql";
import { SubscriptionPayload, subscriptionKey } from "../gateway/src/subscriptions/payload.ts";
import { boardActivityOf, notificationOf, parseEntry, accessChangeOf, type StreamEvent } from "../gateway/src/subscriptions/events.ts";
import { EntityViews, VIEW_VERSION_KEY, type ViewPlan } from "../gateway/src/subscriptions/entity-views.ts";
import type { Role } from "../platform/identity.ts";

const schema = buildSchema(await readFile(new URL("../gateway/schema.graphql", import.meta.url), "utf8"));

function compile(query: string, variables: Record<string, unknown> = {}): SubscriptionPayload {
  const document = parse(query);
  assert.deepEqual(validate(schema, document), []);
  const operation = getOperationAST(document);
  assert.ok(operation);
  const root = operation.selectionSet.selections[0] as FieldNode;
  const eventType = getNamedType(schema.getSubscriptionType()?.getFields()[root.name.value]?.type);
  assert.ok(isObjectType(eventType));
  return new SubscriptionPayload(schema, document, operation, variables, root, eventType, subscriptionKey(query, document, undefined, variables, root));
}

/** `userId` null: an event no user caused (the webhook runtime's), whose metadata has none. */
const envelope = (eventType: string, data: Record<string, unknown>, userId: string | null = "u-actor") =>
  JSON.stringify({
    eventId: "e-1",
    eventType,
    schemaVersion: 1,
    aggregateId: "a-1",
    aggregateType: "Item",
    version: 2,
    data,
    metadata: { correlationId: "c", organizationId: "o-1", timestamp: "2026-12-01T00:00:00.000Z", source: "items", ...(userId === null ? {} : { userId }) },
  });

describe("subscription payloads", () => {
  it("fetches only the selected entities, with the client's aliases, fragments and variables, once per event", () => {
    const payload = compile(
      `subscription($b: ID!, $n: Int) {
        boardActivity(boardId: $b) {
          cursor
          renamed: item { ...Basics comments(first: $n) { nodes { body } } }
          ... on BoardActivityEvent { who: actor { name } }
        }
      }
      fragment Basics on Item { title: name }`,
      { b: "board-1", n: 2 },
    );
    const fetch = payload.fetchFor({ item: "item-1", actor: "user-1", board: "board-1" });
    assert.ok(fetch);
    assert.match(fetch.query, /renamed: item\(id: \$renamed_id\)/);
    assert.match(fetch.query, /who: user\(id: \$who_id\)/);
    assert.doesNotMatch(fetch.query, /board\(id:/, "board was not selected");
    assert.match(fetch.query, /fragment Basics on Item/);
    assert.match(fetch.query, /\$n: Int/);
    assert.doesNotMatch(fetch.query, /\$b:/, "root arguments are not the payload's business");
    assert.deepEqual(fetch.variables, { n: 2, renamed_id: "item-1", who_id: "user-1" });
    assert.deepEqual(validate(schema, parse(fetch.query)), [], "the payload query is valid against the public schema");
    assert.equal(payload.fetchFor({ item: null, actor: null }), null, "nothing to fetch for an event without those entities");
  });

  it("shapes the result over event values and the federated answer, keyed by response keys", () => {
    const payload = compile(`subscription { boardActivity(boardId: "b") { at: cursor type renamed: item { title: name } who: actor { name } } }`);
    const result = payload.shape({ values: { cursor: "1-0", type: "ITEM_UPDATED" }, entities: { item: "i", actor: "u" } }, { data: { renamed: { title: "New name" }, who: { name: "Ada" } } });
    assert.deepEqual(JSON.parse(JSON.stringify(result)), {
      data: { boardActivity: { at: "1-0", type: "ITEM_UPDATED", renamed: { title: "New name" }, who: { name: "Ada" } } },
    });
  });

  it("expands list entities into one aliased fetch per id and keeps their order", () => {
    const payload = compile(`subscription { boardPresence(boardId: "b") { change viewerCount viewers { name } } }`);
    const fetch = payload.fetchFor({ user: null, viewers: ["u1", "u2"] });
    assert.ok(fetch);
    assert.deepEqual(validate(schema, parse(fetch.query)), []);
    const result = payload.shape(
      { values: { change: "JOINED", viewerCount: 2 }, entities: { user: null, viewers: ["u1", "u2"] } },
      { data: { viewers_0: { name: "Ada" }, viewers_1: { name: "Alan" } } },
    );
    assert.deepEqual(JSON.parse(JSON.stringify(result)).data.boardPresence.viewers, [{ name: "Ada" }, { name: "Alan" }]);
  });

  it("places errors of the federated fetch under the subscription field", () => {
    const payload = compile(`subscription { boardActivity(boardId: "b") { item { name } } }`);
    const result = payload.shape(
      { values: {}, entities: { item: "i" } },
      { data: { item: null }, errors: [{ message: "items is down", path: ["item"], extensions: { code: "SUBGRAPH_UNAVAILABLE" } }] },
    );
    assert.deepEqual(
      result.errors?.map((error) => [error.path, error.extensions.code]),
      [[["boardActivity", "item"], "SUBGRAPH_UNAVAILABLE"]],
    );
  });

  it("shares answers per board only for selections of caller-independent fields; anything else per caller", () => {
    const sharing = (selection: string) => compile(`subscription { boardActivity(boardId: "b") { ${selection} } }`).sharing;
    // Fields of the event's item and board and of users: the same for every reader of the board.
    assert.equal(sharing(`cursor type item { name assignees { name email } columnValues { value column { title } } board { name groups { name } } }`), "board");
    assert.equal(sharing(`actor { name organization { name members { nodes { role user { name } } } } } board { items(first: 5) { nodes { name } } }`), "board");
    assert.equal(compile(`subscription { boardActivity(boardId: "b") { item { ...F } __typename } } fragment F on Item { name creator { name } }`).sharing, "board");
    // Filtered by the caller's rights, or about the caller: per caller.
    assert.equal(sharing(`board { viewerCanWrite }`), "caller");
    assert.equal(sharing(`actor { boards { nodes { name } } }`), "caller");
    assert.equal(sharing(`actor { organization { boards { nodes { name } } } }`), "caller");
    assert.equal(sharing(`actor { organization { workspaces { nodes { name } } } }`), "caller");
    assert.equal(sharing(`board { workspace { boards { nodes { name } } } }`), "caller");
    assert.equal(sharing(`board { integrations { type } }`), "caller");
    assert.equal(compile(`subscription { boardActivity(boardId: "b") { item { ...G } } } fragment G on Item { board { ... on Board { viewerCanWrite } } }`).sharing, "caller");
    assert.equal(compile(`subscription { myNotifications { item { name } } }`).sharing, "board");
  });

  it("shares one shape key between identical subscriptions and separates different variables", () => {
    const query = `subscription($n: Int) { boardActivity(boardId: "b") { item { comments(first: $n) { nodes { body } } } } }`;
    assert.equal(compile(query, { n: 1 }).shapeKey, compile(query, { n: 1 }).shapeKey);
    assert.notEqual(compile(query, { n: 1 }).shapeKey, compile(query, { n: 2 }).shapeKey);
    const resumable = `subscription($b: ID!, $after: String) { boardActivity(boardId: $b, after: $after) { cursor } }`;
    assert.equal(compile(resumable, { b: "x", after: "1-0" }).shapeKey, compile(resumable, { b: "x", after: "2-0" }).shapeKey, "root arguments do not change the shape");
  });
});

describe("subscription views of domain events", () => {
  const entry = (eventType: string, data: Record<string, unknown>, userId?: string | null) => {
    const event = parseEntry({ cursor: "5-0", eventType, event: envelope(eventType, data, userId) });
    assert.ok(event);
    return event;
  };

  it("maps board events to boardActivity types and drops the item of a deleted one", () => {
    assert.equal(boardActivityOf(entry("project.item.moved", { boardId: "b", itemId: "i" }))?.values.type, "ITEM_MOVED");
    const deleted = boardActivityOf(entry("project.item.deleted", { boardId: "b", itemId: "i", groupId: "g" }));
    assert.equal(deleted?.values.type, "ITEM_DELETED");
    assert.equal(deleted?.entities.item, null);
    assert.equal(boardActivityOf(entry("user.updated", { userId: "u" })), null);
  });

  const reader = (userId: string, role: Role = "MEMBER", organizationId = "o-1") => ({ userId, role, organizationId });

  it("notifies assignment to others, never one's own actions", () => {
    const assigned = entry("project.item.updated", { boardId: "b", itemId: "i", changes: { assignees: { added: ["u-me"], removed: [] } } });
    assert.equal(notificationOf(assigned, reader("u-me"))?.values.type, "ASSIGNED");
    assert.equal(notificationOf(assigned, reader("u-other")), null);
    const self = entry("project.item.updated", { boardId: "b", itemId: "i", changes: { assignees: { added: ["u-me"], removed: [] } } }, "u-me");
    assert.equal(notificationOf(self, reader("u-me")), null);
  });

  it("tells OWNERs and ADMINs of the organisation that the runtime switched a webhook off, and nobody else", () => {
    const disabled = entry("integration.webhook.disabled", { webhookId: "w", reason: "the endpoint answered 410 Gone", consecutiveFailures: 1 }, null);
    for (const role of ["OWNER", "ADMIN"] as const) {
      const notification = notificationOf(disabled, reader("u-me", role));
      assert.equal(notification?.values.type, "WEBHOOK_DISABLED", role);
      assert.deepEqual(notification?.entities, { item: null, board: null, actor: null }, "no board, item or user to fetch");
    }
    for (const role of ["MEMBER", "VIEWER", "GUEST"] as const) assert.equal(notificationOf(disabled, reader("u-me", role)), null, role);
    assert.equal(notificationOf(disabled, reader("u-me", "ADMIN", "o-2")), null, "an admin of another organisation");
  });

  it("shapes a notification without board, item or actor: nothing to fetch, those fields null", () => {
    const disabled = entry("integration.webhook.disabled", { webhookId: "w", reason: "the endpoint answered 410 Gone", consecutiveFailures: 1 }, null);
    const source = notificationOf(disabled, reader("u-me", "OWNER"));
    assert.ok(source);
    const payload = compile(`subscription { myNotifications { cursor type eventType boardId itemId board { id } item { name } actor { name } data occurredAt } }`);
    assert.equal(payload.fetchFor(source.entities), null);
    assert.deepEqual(JSON.parse(JSON.stringify(payload.shape(source, null))), {
      data: {
        myNotifications: {
          cursor: "5-0",
          type: "WEBHOOK_DISABLED",
          eventType: "integration.webhook.disabled",
          boardId: null,
          itemId: null,
          board: null,
          item: null,
          actor: null,
          data: { webhookId: "w", reason: "the endpoint answered 410 Gone", consecutiveFailures: 1 },
          occurredAt: "2026-12-01T00:00:00.000Z",
        },
      },
    });
  });

  it("recognises the events that change who may read what", () => {
    assert.deepEqual(accessChangeOf(entry("project.member.removed", { boardId: "b", userId: "u" })), { kind: "board", boardId: "b" });
    assert.deepEqual(accessChangeOf(entry("member.removed", { userId: "u", role: "MEMBER" })), { kind: "member", userId: "u" });
    assert.equal(accessChangeOf(entry("project.item.updated", { boardId: "b", itemId: "i" })), null);
  });
});

describe("entity views: board-shared answers kept between events", () => {
  const ORG = "o-1";
  const event = (eventType: string, data: Record<string, unknown>, { id = `e-${Math.random()}`, version = 3, aggregateType = "Item", aggregateId = "i-1", organizationId = ORG } = {}): StreamEvent => {
    const parsed = parseEntry({
      cursor: "7-0",
      eventType,
      event: JSON.stringify({
        eventId: id,
        eventType,
        schemaVersion: 1,
        aggregateId,
        aggregateType,
        version,
        data,
        metadata: { correlationId: "c", organizationId, timestamp: "2026-12-01T00:00:00.000Z", source: "items", userId: "u-actor" },
      }),
    });
    assert.ok(parsed);
    return parsed;
  };
  const rename = (name: string, version: number, itemId = "i-1") =>
    event("project.item.updated", { boardId: "b-1", itemId, changes: { name: { from: "x", to: name }, columnValues: [] } }, { version, aggregateId: itemId });
  /** Applied as both tails would: the organisation's stream and the board's. */
  const applyBoth = (views: EntityViews, applied: StreamEvent) => {
    views.apply(applied, true);
    views.apply(applied, false);
  };
  const titleOf = (data: Readonly<Record<string, unknown>> | undefined) => (data?.item as { title?: string } | undefined)?.title;
  const viewOf = (selection: string) => {
    const payload = compile(`subscription { boardActivity(boardId: "b") { ${selection} } }`);
    assert.ok(payload.view, selection);
    return payload.view;
  };
  const keep = (views: EntityViews, key: string, plan: ViewPlan, data: Record<string, unknown>, place: { org?: string; board?: string; item?: string | null } = {}) =>
    views.keep(key, views.epoch(place.org ?? ORG), { organizationId: place.org ?? ORG, boardId: place.board ?? "b-1", itemId: place.item === undefined ? "i-1" : place.item, plan, data });

  it("keeps only board-shared selections that reach no other item, and asks the item's version with them", () => {
    const view = (selection: string) => compile(`subscription { boardActivity(boardId: "b") { ${selection} } }`).view;
    const plan = viewOf(`item { title: name name version assignees { name } board { name } } actor { name }`);
    assert.equal(plan.itemKey, "item");
    assert.deepEqual(plan.itemFields.get("name"), ["title", "name"]);
    const fetch = compile(`subscription { boardActivity(boardId: "b") { item { name } } }`).fetchFor({ item: "i-1" });
    assert.ok(fetch);
    assert.match(fetch.query, new RegExp(`${VIEW_VERSION_KEY}: version`));
    assert.deepEqual(validate(schema, parse(fetch.query)), []);
    assert.equal(viewOf(`board { name }`).itemKey, null);
    // Any item's event could change these: never kept.
    assert.equal(view(`board { items(first: 5) { nodes { name } } }`), null);
    assert.equal(view(`item { comments { nodes { item { name } } } }`), null);
    assert.equal(view(`item { board { activity { nodes { action } } } }`), null);
    // Per caller: never kept.
    assert.equal(view(`board { viewerCanWrite }`), null);
    assert.equal(view(`item { ${VIEW_VERSION_KEY}: name }`), null);
    assert.equal(compile(`subscription { boardPresence(boardId: "b") { viewers { name } } }`).view, null);
  });

  it("patches a rename of the version it shows, and serves an event only once the organisation's stream applied it", async () => {
    const views = new EntityViews({ maxViews: 100, ttlMs: 60_000, waitMs: 20 });
    const plan = viewOf(`item { title: name version updated: version assignees { name } }`);
    keep(views, "k", plan, { item: { title: "Old", version: 2, updated: 2, assignees: [{ name: "Ada" }], [VIEW_VERSION_KEY]: 2 } });
    const renamed = rename("New", 3);
    views.apply(renamed, false);
    assert.equal(await views.read("k", renamed), undefined, "the organisation's stream has not applied it: the caller fetches");
    views.apply(renamed, true);
    assert.deepEqual(await views.read("k", renamed), { item: { title: "New", version: 3, updated: 3, assignees: [{ name: "Ada" }], [VIEW_VERSION_KEY]: 3 } });
    // A read that waits is answered when the organisation's tail gets there.
    const next = rename("Newer", 4);
    views.apply(next, false);
    const waiting = views.read("k", next);
    views.apply(next, true);
    assert.equal(titleOf(await waiting), "Newer");
    // A view already at or past an event's version serves it unchanged (a late tail).
    const late = rename("Stale", 3);
    applyBoth(views, late);
    assert.equal(titleOf(await views.read("k", late)), "Newer");
  });

  it("drops what an event may change and it cannot follow: other changes, gaps, updatedAt, boards, organisations", async () => {
    const views = new EntityViews({ maxViews: 100, ttlMs: 60_000, waitMs: 20 });
    const plan = viewOf(`item { name assignees { name } board { name } }`);
    const data = { item: { name: "A", assignees: [], board: { name: "B" }, [VIEW_VERSION_KEY]: 2 } };
    const fill = () => {
      keep(views, "item-1", plan, data);
      keep(views, "item-2", plan, data, { item: "i-2" });
      keep(views, "board-2", plan, data, { board: "b-2", item: "i-3" });
      keep(views, "org-2", plan, data, { org: "o-2", board: "b-3", item: "i-4" });
    };
    const kept = () => ["item-1", "item-2", "board-2", "org-2"].filter((key) => views.has(key));

    fill();
    applyBoth(views, event("project.item.updated", { boardId: "b-1", itemId: "i-1", changes: { assignees: { added: ["u"] } } }));
    assert.deepEqual(kept(), ["item-2", "board-2", "org-2"], "an assignment drops that item's views only");
    fill();
    applyBoth(views, rename("Skipped one", 4));
    assert.deepEqual(kept(), ["item-2", "board-2", "org-2"], "a version it did not see: dropped");
    fill();
    applyBoth(views, event("comment.added", { boardId: "b-1", itemId: "i-1", commentId: "c" }, { aggregateType: "Comment", aggregateId: "c" }));
    assert.deepEqual(kept(), ["item-2", "board-2", "org-2"]);
    fill();
    applyBoth(views, event("presence.joined", { boardId: "b-1", userId: "u" }, { aggregateType: "Board", aggregateId: "b-1", version: 0 }));
    assert.deepEqual(kept(), ["item-1", "item-2", "board-2", "org-2"], "presence changes no entity");
    applyBoth(views, event("project.updated", { boardId: "b-1", changes: { name: { from: "B", to: "C" } } }, { aggregateType: "Board", aggregateId: "b-1" }));
    assert.deepEqual(kept(), ["board-2", "org-2"], "a board event drops the board's views");
    fill();
    applyBoth(views, event("user.updated", { userId: "u", changes: { name: { from: "a", to: "b" } } }, { aggregateType: "User", aggregateId: "u" }));
    assert.deepEqual(kept(), ["org-2"], "an organisation event drops the organisation's views");

    const withUpdatedAt = viewOf(`item { name updatedAt }`);
    keep(views, "dated", withUpdatedAt, { item: { name: "A", updatedAt: "t", [VIEW_VERSION_KEY]: 2 } });
    applyBoth(views, rename("B", 3));
    assert.equal(views.has("dated"), false, "only the database knows the new updatedAt");
  });

  it("refuses an answer fetched while its organisation changed, and one without its item", () => {
    const views = new EntityViews({ maxViews: 100, ttlMs: 60_000, waitMs: 20 });
    const plan = viewOf(`item { name }`);
    const epoch = views.epoch(ORG);
    applyBoth(views, event("user.updated", { userId: "u", changes: {} }, { aggregateType: "User", aggregateId: "u" }));
    views.keep("late", epoch, { organizationId: ORG, boardId: "b-1", itemId: "i-1", plan, data: { item: { name: "A", [VIEW_VERSION_KEY]: 2 } } });
    assert.equal(views.has("late"), false);
    keep(views, "gone", plan, { item: null });
    assert.equal(views.has("gone"), false);
    keep(views, "kept", plan, { item: { name: "A", [VIEW_VERSION_KEY]: 2 } });
    assert.equal(views.has("kept"), true);
    views.forgetOrganization(ORG);
    assert.equal(views.has("kept"), false);
  });
});
