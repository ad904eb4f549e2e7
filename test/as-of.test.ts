// As-of reads: the Item fold on its own (pure), then `item(id, asOf)` against the states a random
// edit history really left. One item of a seeded board goes through a few hundred changes through
// the API (renames, status, assignees, column values of every type, moves, subitems); after each,
// the item is read through GraphQL and recorded with its change's instant (the event's, from
// Item.history). Then 100 instants (exact change instants, instants between changes, before the
// item existed) are read with asOf and compared with the recorded state in force then: once with a
// snapshot every 10 versions (the snapshots projection applied to the log), once with none.
//
// Reproduce a run with AS_OF_SEED=<seed printed at the start>.
import { after, before, describe, it } from "node:test";
import { mulberry32 } from "../prisma/seed.ts";
import assert from "node:assert/strict";
import pg from "pg";
import { EVENT_COLUMNS, type LoggedEvent } from "../events/store/log.ts";
import { retentionHorizon } from "../events/store/retention.ts";
import { pgQueryable, rebuild } from "../events/store/snapshots.ts";
import { ITEM_FOLD, itemSnapshots } from "../subgraphs/items/src/history/item-fold.ts";
import { foldItem, type ItemEvent, type ItemState } from "../subgraphs/items/src/history/item-state.ts";
import { codes, startHarness, type Harness } from "./support/harness.ts";

const SEED = Number(process.env.AS_OF_SEED ?? 20_261_206);
const CHANGES = 300;
const POINTS = 100;
const SNAPSHOT_EVERY = 10;

// ───────────────────────────── the fold on its own ─────────────────────────────

const ITEM = "00000000-0000-4000-8000-000000000001";
const ORG = "00000000-0000-4000-8000-0000000000aa";
const BOARD = "00000000-0000-4000-8000-0000000000bb";
const [GROUP_A, GROUP_B] = ["00000000-0000-4000-8000-0000000000c1", "00000000-0000-4000-8000-0000000000c2"];
const [USER_1, USER_2, USER_3] = ["00000000-0000-4000-8000-0000000000d1", "00000000-0000-4000-8000-0000000000d2", "00000000-0000-4000-8000-0000000000d3"];
const [STATUS, TEXT] = ["00000000-0000-4000-8000-0000000000e1", "00000000-0000-4000-8000-0000000000e2"];

function event(version: number, eventType: string, data: Record<string, unknown>, schemaVersion = 1): ItemEvent {
  return {
    aggregateId: ITEM,
    organizationId: ORG,
    eventType,
    schemaVersion,
    version,
    userId: USER_1,
    occurredAt: new Date(Date.UTC(2026, 11, 1, 0, 0, version)),
    envelope: { data },
  };
}

const creation = event(1, "project.item.created", {
  boardId: BOARD,
  groupId: GROUP_A,
  itemId: ITEM,
  name: "Write the spec",
  position: 3,
  assigneeIds: [USER_2, USER_1],
  columnValues: [{ columnId: TEXT, value: "first" }],
});

function folded(...events: ItemEvent[]): ItemState {
  const state = foldItem(null, events, { statusColumnId: STATUS });
  assert.ok(state);
  return state;
}

describe("the item fold", () => {
  it("starts at the creation with its assignees by user id and its first values at version 1", () => {
    const state = folded(creation);
    assert.equal(state.name, "Write the spec");
    assert.equal(state.creatorId, USER_1);
    assert.deepEqual(
      state.assignees.map((a) => a.userId),
      [USER_1, USER_2],
    );
    assert.deepEqual(state.columnValues, [{ columnId: TEXT, value: "first", version: 1, updatedAt: creation.occurredAt.toISOString() }]);
    assert.equal(state.createdAt, creation.occurredAt.toISOString());
  });

  it("is null until the item's creation (an item older than its events cannot be rebuilt)", () => {
    assert.equal(foldItem(null, [event(2, "project.item.updated", { changes: { name: { from: "a", to: "b" } } })]), null);
  });

  it("counts a cell's versions from 1, again after it was cleared, as setColumnValue stores them", () => {
    const state = folded(
      creation,
      event(2, "project.item.column_value.set", { columnId: TEXT, columnType: "TEXT", from: "first", to: "second" }),
      event(3, "project.item.column_value.set", { columnId: TEXT, columnType: "TEXT", from: "second", to: null }),
      event(4, "project.item.column_value.set", { columnId: TEXT, columnType: "TEXT", from: null, to: "third" }),
      event(5, "project.item.column_value.set", { columnId: TEXT, columnType: "TEXT", from: "third", to: "third" }),
    );
    assert.deepEqual(
      state.columnValues.map(({ value, version }) => ({ value, version })),
      [{ value: "third", version: 2 }],
    );
    assert.equal(state.version, 5);
  });

  it("folds a v1 status label into the board's STATUS column as { label }, and a cleared one away", () => {
    const set = folded(creation, event(2, "project.item.updated", { changes: { status: { from: null, to: "Done" } } }));
    assert.deepEqual(set.columnValues.find((value) => value.columnId === STATUS)?.value, { label: "Done" });
    const cleared = foldItem(set, [event(3, "project.item.updated", { changes: { status: { from: "Done", to: null } } })], { statusColumnId: STATUS });
    assert.equal(
      cleared?.columnValues.some((value) => value.columnId === STATUS),
      false,
    );
    const unknownColumn = foldItem(null, [creation, event(2, "project.item.updated", { changes: { status: { from: null, to: "Stuck" } } })]);
    assert.equal(unknownColumn?.statusLabel, "Stuck");
  });

  it("folds v2 updates: name, assignees and typed column entries", () => {
    const state = folded(
      creation,
      event(
        2,
        "project.item.updated",
        {
          changes: {
            name: { from: "Write the spec", to: "Ship the spec" },
            assignees: { added: [USER_3], removed: [USER_1] },
            columnValues: [{ columnId: STATUS, columnType: "STATUS", from: null, to: { label: "Working on it" } }],
          },
        },
        2,
      ),
    );
    assert.equal(state.name, "Ship the spec");
    assert.deepEqual(
      state.assignees.map((a) => a.userId),
      [USER_2, USER_3],
    );
    assert.deepEqual(state.columnValues.find((value) => value.columnId === STATUS)?.value, { label: "Working on it" });
  });

  it("moves, adds subitems after the last one, and marks the deletion", () => {
    const state = folded(
      creation,
      event(2, "project.item.moved", { from: { groupId: GROUP_A, position: 3 }, to: { groupId: GROUP_B, position: 1.5 } }),
      event(3, "project.item.subitem.created", { subitemId: USER_1, name: "one" }),
      event(4, "project.item.subitem.created", { subitemId: USER_2, name: "two" }),
      event(5, "project.item.deleted", { groupId: GROUP_B }),
    );
    assert.equal(state.groupId, GROUP_B);
    assert.equal(state.position, 1.5);
    assert.deepEqual(
      state.subitems.map((s) => [s.name, s.position]),
      [
        ["one", 1],
        ["two", 2],
      ],
    );
    assert.equal(state.deletedAt, new Date(Date.UTC(2026, 11, 1, 0, 0, 5)).toISOString());
  });

  it("skips events it has folded already, so overlapping ranges fold to the same state", () => {
    const events = [creation, event(2, "project.item.updated", { changes: { assignees: { added: [USER_3], removed: [] } } })];
    const once = folded(...events);
    assert.deepEqual(foldItem(once, events, { statusColumnId: STATUS }), once);
    // A subitem written before subitems bumped the version shares the version before it.
    const legacy = event(2, "project.item.subitem.created", { subitemId: USER_1, name: "legacy" });
    const withLegacy = foldItem(once, [legacy, legacy], { statusColumnId: STATUS });
    assert.equal(withLegacy?.subitems.length, 1);
  });
});

// ───────────────────────────── against the real write path ─────────────────────────────

const ITEM_FIELDS = `name position version updatedAt board { id } group { id } creator { id } assignees { id }
  columnValues { column { id } value version } subitems { id name done position version }`;

interface RecordedState {
  readonly name: string;
  readonly position: number;
  readonly version: number;
  readonly board: { id: string };
  readonly group: { id: string };
  readonly creator: { id: string };
  readonly assignees: { id: string }[];
  readonly columnValues: { column: { id: string }; value: unknown; version: number }[];
  readonly subitems: { id: string; name: string; done: boolean; position: number; version: number }[];
}

/** The state without its instant (the row's updatedAt is the database's clock, the as-of one the event's), cells by column. */
function comparable(item: RecordedState & { updatedAt?: string }): RecordedState {
  const { updatedAt: _clock, ...rest } = item;
  return { ...rest, columnValues: [...rest.columnValues].sort((a, b) => (a.column.id < b.column.id ? -1 : 1)) };
}

interface Recorded {
  readonly at: Date;
  readonly state: RecordedState;
}

describe("item(id, asOf) against a recorded edit history", () => {
  let harness: Harness;
  let token: string;
  let itemId: string;
  const recorded: Recorded[] = [];
  let points: Date[] = [];
  let client: pg.Client;

  before(async () => {
    harness = await startHarness("as_of");
    token = await harness.token(0, "OWNER");
    client = new pg.Client({ connectionString: harness.databaseUrl });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await harness?.dispose();
  });

  async function ok<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const result = await harness.gql(token, query, variables);
    assert.equal(result.body.errors, undefined, `${query.slice(0, 60)}: ${JSON.stringify(result.body.errors)}`);
    return result.body.data as T;
  }

  /** Reads the item and its newest history entry; records the state at that entry's instant. */
  async function record(): Promise<RecordedState> {
    const { item } = await ok<{ item: RecordedState & { updatedAt: string; history: { nodes: { version: number; occurredAt: string }[] } } }>(
      `query($id: ID!) { item(id: $id) { ${ITEM_FIELDS} history(first: 1) { nodes { version occurredAt } } } }`,
      { id: itemId },
    );
    const [newest] = item.history.nodes;
    assert.ok(newest);
    assert.equal(newest.version, item.version, "the newest history entry is the change just made");
    const { history: _history, ...state } = item;
    recorded.push({ at: new Date(newest.occurredAt), state: comparable(state) });
    return state;
  }

  it("records a random edit history of one item through the API", async () => {
    console.log(`as-of: seed ${SEED} (AS_OF_SEED to change)`);
    const random = mulberry32(SEED);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    const acme = harness.seed.organizations[0];
    const board = acme.boards[0];
    const columns = board.columnIds;
    const people = acme.users.filter((user) => user.role !== "GUEST").map((user) => user.id);
    const { board: seeded } = await ok<{ board: { items: { nodes: { id: string; group: { id: string } }[] } } }>(
      `query($id: ID!) { board(id: $id) { items(first: 100) { nodes { id group { id } } } } }`,
      { id: board.id },
    );
    const created = await ok<{ createItem: { id: string } }>(`mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
      input: {
        boardId: board.id,
        groupId: board.groupIds[0],
        name: "As-of subject",
        assigneeIds: [people[1], people[0]],
        columnValues: [
          { columnId: columns.TEXT, value: "the first note" },
          { columnId: columns.STATUS, value: { label: "Not started" } },
        ],
      },
    });
    itemId = created.createItem.id;
    let state = await record();
    const day = () => `2027-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`;
    const randomValue: Record<string, () => unknown> = {
      TEXT: () => `note ${Math.floor(random() * 1000)}`,
      STATUS: () => ({ label: pick(["Not started", "Working on it", "Stuck", "Done"]) }),
      PERSON: () => ({ userIds: people.filter(() => random() < 0.3) }),
      DATE: () => ({ date: day() }),
      NUMBER: () => Math.round(random() * 1000) / 8,
      DROPDOWN: () => ({ labels: ["Frontend", "Backend", "Design", "Infrastructure", "Docs"].filter(() => random() < 0.4) }),
      TIMELINE: () => {
        const [from, to] = [day(), day()].sort();
        return { from, to };
      },
    };
    const kinds = ["rename", "status", "assign", "value", "value", "clear", "move", "subitem"] as const;
    for (let change = 1; change < CHANGES; change += 1) {
      const kind = pick(kinds);
      if (kind === "rename") {
        await ok(`mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, {
          input: { id: itemId, expectedVersion: state.version, name: `As-of subject ${change}` },
        });
      } else if (kind === "status" || kind === "value" || kind === "clear") {
        const type = kind === "status" ? "STATUS" : pick(Object.keys(randomValue));
        const value = kind === "clear" ? null : randomValue[type]?.();
        await ok(`mutation($input: SetColumnValueInput!) { setColumnValue(input: $input) { id } }`, {
          input: { itemId, columnId: columns[type as keyof typeof columns], value, expectedVersion: state.version },
        });
      } else if (kind === "assign") {
        const assigned = new Set(state.assignees.map((user) => user.id));
        const add = people.filter((id) => !assigned.has(id) && random() < 0.3);
        const remove = [...assigned].filter(() => random() < 0.4);
        if (add.length + remove.length === 0) add.push(pick(people));
        await ok(`mutation($input: AssignUsersInput!) { assignUsers(input: $input) { id } }`, { input: { itemId, add, remove, expectedVersion: state.version } });
      } else if (kind === "move") {
        const groupId = pick(board.groupIds);
        const anchors = seeded.items.nodes.filter((item) => item.group.id === groupId);
        const afterItemId = random() < 0.6 && anchors.length > 0 ? pick(anchors).id : null;
        await ok(`mutation($input: MoveItemInput!) { moveItem(input: $input) { id } }`, { input: { id: itemId, expectedVersion: state.version, groupId, afterItemId } });
      } else {
        await ok(`mutation($input: CreateSubitemInput!) { createSubitem(input: $input) { id } }`, { input: { parentItemId: itemId, name: `Step ${change}` } });
      }
      state = await record();
    }
    assert.equal(recorded.length, CHANGES);
    assert.equal(state.version, CHANGES, "every change is one version and one event");
    for (let index = 1; index < recorded.length; index += 1) {
      assert.ok((recorded[index]?.at ?? 0) >= (recorded[index - 1]?.at ?? 0), "change instants do not go back");
    }
  });

  /** The recorded state in force at `at`: the last change at or before it (null before the first). */
  function expectedAt(at: Date): RecordedState | null {
    let found: RecordedState | null = null;
    for (const entry of recorded) if (entry.at <= at) found = entry.state;
    return found;
  }

  function choosePoints(): Date[] {
    const random = mulberry32(SEED + 1);
    const chosen: Date[] = [];
    const first = recorded[0]?.at ?? new Date();
    chosen.push(new Date(first.getTime() - 1), new Date(first.getTime() - 60_000));
    while (chosen.length < POINTS) {
      const index = Math.floor(random() * recorded.length);
      const at = recorded[index]?.at ?? first;
      const next = recorded[index + 1]?.at;
      if (random() < 0.5 || !next || next.getTime() - at.getTime() < 2) chosen.push(at);
      else chosen.push(new Date(at.getTime() + 1 + Math.floor(random() * (next.getTime() - at.getTime() - 1))));
    }
    return chosen;
  }

  async function compareAt(label: string): Promise<{ nulls: number; states: number }> {
    let nulls = 0;
    for (const at of points) {
      const { item } = await ok<{ item: (RecordedState & { updatedAt: string }) | null }>(`query($id: ID!, $at: DateTime) { item(id: $id, asOf: $at) { ${ITEM_FIELDS} } }`, {
        id: itemId,
        at: at.toISOString(),
      });
      const expected = expectedAt(at);
      if (expected === null) {
        assert.equal(item, null, `${label}: before the item existed (${at.toISOString()})`);
        nulls += 1;
        continue;
      }
      assert.ok(item, `${label}: the item at ${at.toISOString()}`);
      assert.deepEqual(comparable(item), expected, `${label}: the item at ${at.toISOString()} (version ${expected.version})`);
      const changedAt = recorded.find((entry) => entry.state.version === expected.version)?.at;
      assert.equal(item.updatedAt, changedAt?.toISOString(), `${label}: updatedAt is the instant of the change in force`);
    }
    return { nulls, states: points.length - nulls };
  }

  it("answers 100 as-of reads as recorded, from snapshots every 10 versions", async () => {
    points = choosePoints();
    // The whole log in log order, read directly: every change has committed, and readLog's horizon
    // (the oldest transaction running anywhere on the server) may be held by another test's database.
    const projection = itemSnapshots(SNAPSHOT_EVERY);
    const log = await client.query<LoggedEvent>(`SELECT ${EVENT_COLUMNS} FROM eventstore."Event" e ORDER BY e."transactionId", e."sequence"`);
    for (let start = 0; start < log.rows.length; start += 100) {
      await projection.apply(
        client,
        1,
        log.rows.slice(start, start + 100).map((row) => ({ ...row, sequence: BigInt(row.sequence) })),
      );
    }
    const { rows } = await client.query<{ count: number }>(`SELECT count(*)::int AS count FROM eventstore."Snapshot" WHERE "aggregateId" = $1`, [itemId]);
    assert.equal(rows[0]?.count, Math.floor(CHANGES / SNAPSHOT_EVERY));
    const deepest = await deepestFold();
    assert.ok(deepest < SNAPSHOT_EVERY, `at most ${SNAPSHOT_EVERY - 1} events folded on a snapshot, saw ${deepest}`);
    const { nulls, states } = await compareAt("with snapshots");
    console.log(
      `as-of: ${CHANGES} events of one item, ${points.length} points (${states} states, ${nulls} before creation), ${rows[0]?.count} snapshots (every ${SNAPSHOT_EVERY}), at most ${deepest} events folded per read`,
    );
  });

  it("answers the same reads from the events alone once the snapshots are gone", async () => {
    // The stack's own snapshots projection has caught up first, so nothing writes them again.
    await harness.stack.projections?.settled();
    await client.query(`DELETE FROM eventstore."Snapshot" WHERE "aggregateId" = $1`, [itemId]);
    const deepest = await deepestFold();
    assert.ok(deepest > SNAPSHOT_EVERY, `reads fold from the first event without snapshots, saw ${deepest}`);
    await compareAt("without snapshots");
    console.log(`as-of: without snapshots, up to ${deepest} events folded per read`);
  });

  /** The most events any of the points folds on top of its snapshot. */
  async function deepestFold(): Promise<number> {
    let deepest = 0;
    for (const at of points) {
      const rebuilt = await rebuild(pgQueryable(client), ITEM_FOLD, itemId, { atOrBefore: at });
      deepest = Math.max(deepest, rebuilt?.folded ?? 0);
    }
    return deepest;
  }

  it("refuses an instant before the retention horizon with BAD_USER_INPUT naming the horizon", async () => {
    process.env.EVENT_RETENTION_MONTHS = "1";
    try {
      const horizon = retentionHorizon(1, new Date());
      assert.ok(horizon);
      const query = `query($id: ID!, $at: DateTime) { item(id: $id, asOf: $at) { id } }`;
      const refused = await harness.gql(token, query, { id: itemId, at: new Date(horizon.getTime() - 1).toISOString() });
      assert.deepEqual(codes(refused), ["BAD_USER_INPUT"]);
      assert.equal(refused.body.errors?.[0]?.message, `history before ${horizon.toISOString().slice(0, 10)} is no longer kept`);
      const atHorizon = await harness.gql(token, query, { id: itemId, at: horizon.toISOString() });
      assert.deepEqual([atHorizon.body.data?.item, codes(atHorizon)], [null, []], "from the horizon on: answered (the item did not exist yet)");
    } finally {
      delete process.env.EVENT_RETENTION_MONTHS;
    }
  });

  it("refuses an instant in the future with BAD_USER_INPUT", async () => {
    const result = await harness.gql(token, `query($id: ID!, $at: DateTime) { item(id: $id, asOf: $at) { id } }`, {
      id: itemId,
      at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    assert.deepEqual(codes(result), ["BAD_USER_INPUT"]);
  });
});
