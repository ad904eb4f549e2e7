// Full-text search (Query.search, REST GET /search) through the gateway, on the whole stack with the
// items subgraph's projections running: what it finds (prefix, typos, phrases, operators), in which
// order, with which snippets and filters, page by page; and above all what it never shows: a board
// the caller may not read, whatever the role, at once when access is taken away.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { codes, startHarness, type Harness } from "./support/harness.ts";
import { RestClient, assertProblem } from "./support/rest.ts";
import { waitFor } from "./support/wait.ts";
import type { Role } from "../platform/identity.ts";

interface Result {
  type: "ITEM" | "BOARD" | "COMMENT";
  id: string;
  score: number;
  title: string;
  snippet: string;
  board: { id: string };
  item: { id: string; name: string } | null;
  updatedAt: string;
}
interface Page {
  edges: { cursor: string; node: Result }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const SEARCH = `query Search($query: String!, $first: Int, $after: String, $filter: SearchFilter) {
  search(query: $query, first: $first, after: $after, filter: $filter) {
    edges { cursor node { type id score title snippet board { id } item { id name } updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe("search", () => {
  let harness: Harness;
  const acme = () => harness.seed.organizations[0];
  const userId = (role: Role) => acme().userIdsByRole[role];

  async function as<T = Record<string, unknown>>(role: Role, query: string, variables: Record<string, unknown> = {}, org: 0 | 1 = 0): Promise<T> {
    const result = await harness.gql(await harness.token(org, role), query, variables);
    assert.equal(result.body.errors, undefined, JSON.stringify(result.body.errors));
    return result.body.data as T;
  }
  const search = async (role: Role, query: string, options: { first?: number; after?: string; filter?: Record<string, unknown> } = {}, org: 0 | 1 = 0) =>
    (await as<{ search: Page }>(role, SEARCH, { query, ...options }, org)).search;
  const titles = async (role: Role, query: string, options: { filter?: Record<string, unknown>; first?: number } = {}, org: 0 | 1 = 0) =>
    (await search(role, query, options, org)).edges.map((edge) => edge.node.title);
  /** Every page of a search, `first` at a time. */
  async function everyPage(role: Role, query: string, first: number, filter?: Record<string, unknown>): Promise<{ pages: number; results: Result[]; cursors: string[] }> {
    const results: Result[] = [];
    const cursors: string[] = [];
    let afterCursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await search(role, query, { first, ...(afterCursor ? { after: afterCursor } : {}), ...(filter ? { filter } : {}) });
      pages += 1;
      results.push(...page.edges.map((edge) => edge.node));
      cursors.push(...page.edges.map((edge) => edge.cursor));
      if (!page.pageInfo.hasNextPage) return { pages, results, cursors };
      afterCursor = page.pageInfo.endCursor ?? undefined;
      assert.ok(pages < 50, "pages end");
    }
  }

  const boardVersion = async (id: string) => (await as<{ board: { version: number } }>("OWNER", `query($id: ID!) { board(id: $id) { version } }`, { id })).board.version;
  async function createBoard(name: string, kind: "PUBLIC" | "PRIVATE", description?: string): Promise<{ id: string; groupId: string; statusColumnId: string }> {
    const created = await as<{ createBoard: { id: string } }>("OWNER", `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`, {
      input: { workspaceId: acme().workspaceId, name, kind },
    });
    const id = created.createBoard.id;
    if (description) await as("OWNER", `mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id } }`, { input: { id, expectedVersion: await boardVersion(id), description } });
    const group = await as<{ createGroup: { id: string } }>("OWNER", `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`, { input: { boardId: id, name: "Work" } });
    const column = await as<{ createColumn: { id: string } }>("OWNER", `mutation($input: CreateColumnInput!) { createColumn(input: $input) { id } }`, {
      input: { boardId: id, title: "Status", type: "STATUS", settings: { labels: ["Working on it", "Done", "Stuck"] } },
    });
    return { id, groupId: group.createGroup.id, statusColumnId: column.createColumn.id };
  }
  async function createItem(board: { id: string; groupId: string }, name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const created = await as<{ createItem: { id: string } }>("OWNER", `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, {
      input: { boardId: board.id, groupId: board.groupId, name, ...extra },
    });
    return created.createItem.id;
  }
  const comment = (itemId: string, body: string) => as("OWNER", `mutation($input: AddCommentInput!) { addComment(input: $input) { id } }`, { input: { itemId, body } });
  const share = (boardId: string, role: Role, permission = "VIEWER") =>
    as("OWNER", `mutation($input: ShareBoardInput!) { shareBoard(input: $input) { id } }`, { input: { boardId, userId: userId(role), permission } });
  const unshare = (boardId: string, role: Role) => as("OWNER", `mutation($input: UnshareBoardInput!) { unshareBoard(input: $input) { id } }`, { input: { boardId, userId: userId(role) } });
  const setKind = async (boardId: string, kind: string) =>
    as("OWNER", `mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id } }`, { input: { id: boardId, expectedVersion: await boardVersion(boardId), kind } });

  /**
   * Waits until the projection has applied everything written so far: a sentinel item is written
   * last and searched for (the log is applied in order, so everything before it is in too).
   */
  let sentinels = 0;
  async function projected(board: { id: string; groupId: string }): Promise<void> {
    sentinels += 1;
    const word = `sentinel${"x".repeat(sentinels)}q`;
    await createItem(board, word);
    // Long: the log is read up to the oldest transaction on the whole server, other suites' included.
    await waitFor(
      `the search projection to index ${word}`,
      async () => (await titles("OWNER", word)).includes(word),
      () => "",
      180_000,
    );
  }

  let launch: { id: string; groupId: string; statusColumnId: string };
  let secret: { id: string; groupId: string; statusColumnId: string };
  let kaleidoscopeReview: string;
  let gingerbreadItem: string;
  let offsite: string;

  before(async () => {
    harness = await startHarness("search");
    assert.ok(harness.stack.projections, "the stack runs the items subgraph's projections");
    launch = await createBoard("Aurora launch", "PUBLIC", "Everything we ship for the aurora launch");
    secret = await createBoard("Acquisition zephyr", "PRIVATE", "Due diligence for zephyr");
    kaleidoscopeReview = await createItem(launch, "Quarterly kaleidoscope review", { assigneeIds: [userId("MEMBER")] });
    await createItem(launch, "Kaleidoscope planning session");
    await createItem(launch, "Review the kaleidoscope with sales");
    await createItem(launch, "Xylophone reconciliation");
    await createItem(launch, "Marimba scanning");
    gingerbreadItem = await createItem(launch, "Gingerbread forecast", { columnValues: [{ columnId: launch.statusColumnId, value: { label: "Done" } }] });
    offsite = await createItem(launch, "Team offsite in Lisbon");
    await comment(offsite, "We should discuss the gingerbread <script>alert(1)</script> & the venue");
    const zephyrItem = await createItem(secret, "Zephyr term sheet", { assigneeIds: [userId("MEMBER")] });
    await comment(zephyrItem, "Zephyr valuation is confidential");
    // A word on both boards, often enough on each that full text finds plenty either way.
    for (let i = 0; i < 6; i += 1) {
      await createItem(launch, `Obsidian ground ${i}`);
      await createItem(secret, `Obsidian ground secret ${i}`);
    }
    for (let i = 0; i < 25; i += 1) await createItem(launch, `Tessellation case ${String(i).padStart(2, "0")}`);
    await projected(launch);
  });
  after(() => harness?.dispose());

  describe("what it finds", () => {
    it("matches the last word as a prefix while it is typed", async () => {
      const found = await titles("OWNER", "kaleid");
      assert.deepEqual(found.sort(), ["Kaleidoscope planning session", "Quarterly kaleidoscope review", "Review the kaleidoscope with sales"]);
      assert.deepEqual(await titles("OWNER", "quarterly kaleid"), ["Quarterly kaleidoscope review"]);
    });

    it("forgives a typo in a title when full text finds little, ranked after any full-text hit", async () => {
      const page = await search("OWNER", "kaleidoscpoe");
      const names = page.edges.map((edge) => edge.node.title);
      assert.ok(names.includes("Quarterly kaleidoscope review"), JSON.stringify(names));
      assert.ok(
        page.edges.every((edge) => edge.node.score < 1),
        "typo matches score below 1",
      );
      assert.ok((await titles("OWNER", "xylohpone")).includes("Xylophone reconciliation"));
    });

    it("takes quoted phrases, or and -not, and forgives no typos in them", async () => {
      assert.deepEqual(await titles("OWNER", '"kaleidoscope review"'), ["Quarterly kaleidoscope review"]);
      assert.deepEqual((await titles("OWNER", "xylophone or marimba")).sort(), ["Marimba scanning", "Xylophone reconciliation"]);
      assert.deepEqual(await titles("OWNER", "kaleidoscope -review"), ["Kaleidoscope planning session"]);
      assert.deepEqual(await titles("OWNER", "-kaleidoscope"), [], "nothing to look up: nothing found, no scan");
      assert.deepEqual(await titles("OWNER", '"xylohpone"'), []);
    });

    it("ranks a title match above a match in a comment, and finds boards by their description", async () => {
      const page = await search("OWNER", "gingerbread");
      assert.deepEqual(
        page.edges.map((edge) => [edge.node.type, edge.node.title]),
        [
          ["ITEM", "Gingerbread forecast"],
          ["COMMENT", "Team offsite in Lisbon"],
        ],
      );
      const [first, second] = page.edges.map((edge) => edge.node.score);
      assert.ok((first as number) > (second as number) && (second as number) >= 1);
      const comment = page.edges[1]?.node;
      assert.equal(comment?.item?.id, offsite);
      assert.equal(comment?.board.id, launch.id);
      const boards = await search("OWNER", "ship aurora", { filter: { types: ["BOARD"] } });
      assert.deepEqual(
        boards.edges.map((edge) => [edge.node.id, edge.node.item]),
        [[launch.id, null]],
      );
    });

    it("marks matches in an HTML-escaped snippet", async () => {
      const page = await search("OWNER", "gingerbread", { filter: { types: ["COMMENT"] } });
      const snippet = page.edges[0]?.node.snippet ?? "";
      assert.match(snippet, /discuss the <mark>gingerbread<\/mark> &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; the venue$/);
      assert.equal(snippet.replaceAll("<mark>", "").replaceAll("</mark>", "").includes("<"), false, "no markup but the marks");
      // A word matched as a typed prefix is marked too (its stem differs: "planning" is "plan").
      assert.equal((await search("OWNER", "kaleidoscope plann")).edges[0]?.node.snippet, "<mark>Kaleidoscope</mark> <mark>planning</mark> session");
      assert.equal((await search("OWNER", "gingerbread forecast")).edges[0]?.node.snippet, "<mark>Gingerbread</mark> <mark>forecast</mark>");
    });

    it("filters by board, type, assignee, status and time of change", async () => {
      assert.deepEqual(
        (await search("OWNER", "kaleidoscope", { filter: { assignees: [userId("MEMBER")] } })).edges.map((edge) => edge.node.id),
        [kaleidoscopeReview],
      );
      assert.deepEqual(
        (await search("OWNER", "gingerbread", { filter: { status: ["Done"] } })).edges.map((edge) => edge.node.id),
        [gingerbreadItem],
      );
      assert.deepEqual(await titles("OWNER", "gingerbread", { filter: { types: ["COMMENT"] } }), ["Team offsite in Lisbon"]);
      assert.deepEqual(await titles("OWNER", "zephyr", { filter: { boards: [launch.id] } }), []);
      assert.ok((await titles("OWNER", "zephyr", { filter: { boards: [secret.id] } })).includes("Zephyr term sheet"));
      assert.deepEqual(await titles("OWNER", "kaleidoscope", { filter: { updatedAfter: new Date(Date.now() + 60_000).toISOString() } }), []);
      assert.equal((await titles("OWNER", "kaleidoscope", { filter: { updatedAfter: "2020-01-01T00:00:00Z" } })).length, 3);
      assert.deepEqual(await titles("OWNER", "kaleidoscope", { filter: { boards: [] } }), [], "an empty list matches nothing");
    });

    it("pages without repeating or skipping a result", async () => {
      const all = await everyPage("OWNER", "tessellation", 10);
      assert.equal(all.pages, 3);
      assert.equal(all.results.length, 25);
      assert.equal(new Set(all.results.map((result) => result.id)).size, 25);
      const scores = all.results.map((result) => result.score);
      assert.deepEqual(
        scores,
        [...scores].sort((a, b) => b - a),
      );
      const single = await everyPage("OWNER", "tessellation", 1);
      assert.deepEqual(
        single.results.map((result) => result.id),
        all.results.map((result) => result.id),
      );
    });
  });

  describe("what it never shows", () => {
    const ROLES_WITHOUT_ACCESS: Role[] = ["MEMBER", "VIEWER", "GUEST"];

    it("shows a private board's items and comments to its owner and admins only", async () => {
      for (const role of ["OWNER", "ADMIN"] as const) assert.ok((await titles(role, "zephyr")).includes("Zephyr term sheet"), role);
      for (const role of ROLES_WITHOUT_ACCESS) assert.deepEqual(await titles(role, "zephyr"), [], role);
      assert.deepEqual(await titles("OWNER", "zephyr", {}, 1), [], "another organisation's OWNER");
      assert.deepEqual(await titles("OWNER", "kaleidoscope", {}, 1), [], "another organisation's OWNER, a public board");
      assert.deepEqual(await titles("GUEST", "kaleidoscope"), [], "a GUEST without the share of a public board");
    });

    it("knows the demo seed's shares: the MEMBER shared on the seeded private board finds its items, the VIEWER and GUEST do not", async () => {
      // Seeded, not made through the API: the seed's own events are all search knows of the shares.
      const seeded = acme().boards[1];
      assert.equal(seeded.kind, "PRIVATE");
      assert.ok(seeded.members.some((member) => member.userId === userId("MEMBER")));
      const negotiations = await titles("OWNER", "negotiate", { filter: { boards: [seeded.id], types: ["ITEM"] } });
      assert.ok(negotiations.length > 0, "the seeded private board has items to find");
      assert.deepEqual(await titles("MEMBER", "negotiate", { filter: { types: ["ITEM"] } }), negotiations);
      for (const role of ["VIEWER", "GUEST"] as const) assert.deepEqual(await titles(role, "negotiate"), [], role);
    });

    it("answers them exactly as if the private board did not exist: same results, scores, snippets and cursors", async () => {
      for (const role of ["MEMBER", "VIEWER"] as const) {
        // The OWNER searching only the boards this role may read is the same search on a database without the private board.
        const readable = (await as<{ boards: { nodes: { id: string }[] } }>(role, `{ boards(first: 100) { nodes { id } } }`)).boards.nodes.map((board) => board.id);
        assert.ok(readable.includes(launch.id) && !readable.includes(secret.id));
        for (const query of ["obsidian ground", "obsidian grnd", "zephyr", "ground 3"]) {
          assert.deepEqual(await everyPage(role, query, 4), await everyPage("OWNER", query, 4, { boards: readable }), `${role}: ${query}`);
        }
      }
    });

    it("shows a shared private board to a MEMBER and a GUEST, and hides it again the moment it is unshared", async () => {
      await share(secret.id, "MEMBER");
      await share(secret.id, "GUEST");
      await waitFor(
        "the share to reach the projection",
        async () => (await titles("GUEST", "zephyr")).includes("Zephyr term sheet"),
        () => "",
        180_000,
      );
      assert.ok((await titles("MEMBER", "zephyr")).includes("Zephyr term sheet"));

      // No waiting: the projection may not have the unshare yet, the page check has it.
      await unshare(secret.id, "MEMBER");
      await unshare(secret.id, "GUEST");
      assert.deepEqual(await titles("MEMBER", "zephyr"), []);
      assert.deepEqual(await titles("GUEST", "zephyr"), []);
      await projected(launch);
      assert.deepEqual(await titles("MEMBER", "zephyr"), []);
    });

    it("hides a board made private from a MEMBER at once", async () => {
      const board = await createBoard("Hiring pipeline", "PUBLIC");
      await createItem(board, "Candidate quokka interview");
      await projected(board);
      assert.deepEqual(await titles("MEMBER", "quokka"), ["Candidate quokka interview"]);
      await setKind(board.id, "PRIVATE");
      assert.deepEqual(await titles("MEMBER", "quokka"), []);
      assert.deepEqual(await titles("OWNER", "quokka"), ["Candidate quokka interview"]);
    });

    it("drops a deleted item at once, and an archived board's documents once projected", async () => {
      const board = await createBoard("Old project", "PUBLIC");
      const item = await createItem(board, "Obsolete narwhal spec");
      await comment(item, "narwhal notes");
      await projected(board);
      assert.equal((await titles("MEMBER", "narwhal")).length, 2);
      const version = (await as<{ item: { version: number } }>("OWNER", `query($id: ID!) { item(id: $id) { version } }`, { id: item })).item.version;
      await as("OWNER", `mutation($input: DeleteItemInput!) { deleteItem(input: $input) { id } }`, { input: { id: item, expectedVersion: version } });
      assert.deepEqual(await titles("MEMBER", "narwhal"), []);

      await createItem(board, "Archived walrus plan");
      await projected(board);
      assert.deepEqual(await titles("MEMBER", "walrus"), ["Archived walrus plan"]);
      await as("OWNER", `mutation($input: VersionedInput!) { archiveBoard(input: $input) { id } }`, { input: { id: board.id, expectedVersion: await boardVersion(board.id) } });
      await waitFor(
        "the archive to reach the projection",
        async () => (await titles("OWNER", "walrus")).length === 0,
        () => "",
        180_000,
      );
    });
  });

  describe("bad input", () => {
    it("refuses an empty query, a page size out of range, a forged cursor and bad ids with BAD_USER_INPUT", async () => {
      const token = await harness.token(0, "MEMBER");
      const cases: [string, Record<string, unknown>][] = [
        ["an empty query", { query: "" }],
        ["a blank query", { query: "   " }],
        ["a query of control characters", { query: "a\u0000b" }],
        ["a query over 200 characters", { query: "x".repeat(201) }],
        ["first 0", { query: "kaleidoscope", first: 0 }],
        ["first over 100", { query: "kaleidoscope", first: 101 }],
        ["a forged cursor", { query: "kaleidoscope", after: "bm90LWEtY3Vyc29y" }],
        ["a cursor of another list", { query: "kaleidoscope", after: Buffer.from('["2026-01-01T00:00:00.000Z","00000000-0000-4000-8000-000000000001"]').toString("base64url") }],
        ["a bad board id", { query: "kaleidoscope", filter: { boards: ["nope"] } }],
        ["a bad assignee id", { query: "kaleidoscope", filter: { assignees: ["00000000-0000-0000-0000-000000000000"] } }],
        ["too many status labels", { query: "kaleidoscope", filter: { status: Array.from({ length: 21 }, (_, i) => `s${i}`) } }],
      ];
      for (const [label, variables] of cases) {
        const result = await harness.gql(token, SEARCH, variables);
        assert.deepEqual(codes(result), ["BAD_USER_INPUT"], `${label}: ${JSON.stringify(result.body)}`);
      }
    });
  });

  describe("REST GET /search", () => {
    let rest: RestClient;
    before(async () => {
      rest = await RestClient.connect(harness);
    });

    it("answers pages of results with Link headers, filters from comma-separated lists", async () => {
      const token = await harness.token(0, "MEMBER");
      const first = await rest.call("GET", "/api/v1/search?q=tessellation&limit=10", { token });
      assert.equal(first.status, 200);
      const body = first.body as { data: Result[]; nextCursor: string | null };
      assert.equal(body.data.length, 10);
      assert.ok(body.nextCursor);
      assert.match(first.headers.get("link") ?? "", /rel="next"/);
      const filtered = await rest.call("GET", `/api/v1/search?q=gingerbread&types=COMMENT,BOARD&boards=${launch.id}`, { token });
      assert.deepEqual(
        (filtered.body as { data: Result[] }).data.map((result) => [result.type, result.title]),
        [["COMMENT", "Team offsite in Lisbon"]],
      );
      const hidden = await rest.call("GET", "/api/v1/search?q=zephyr", { token });
      assert.deepEqual((hidden.body as { data: Result[] }).data, []);
    });

    it("refuses bad input with problem+json", async () => {
      const token = await harness.token(0, "MEMBER");
      const missing = assertProblem(await rest.call("GET", "/api/v1/search", { token }), 400, "INVALID_PARAMETERS");
      assert.ok(missing.errors?.some((error) => error.field === "q"));
      const blank = assertProblem(await rest.call("GET", "/api/v1/search?q=%20%20", { token }), 400, "INVALID_PARAMETERS");
      assert.ok(
        blank.errors?.some((error) => error.field === "q"),
        JSON.stringify(blank),
      );
      const types = assertProblem(await rest.call("GET", "/api/v1/search?q=a&types=ITEM,NOPE", { token }), 400, "INVALID_PARAMETERS");
      assert.ok(types.errors?.some((error) => error.field === "types"));
      const boards = assertProblem(await rest.call("GET", "/api/v1/search?q=a&boards=nope", { token }), 400, "INVALID_PARAMETERS");
      assert.ok(boards.errors?.some((error) => error.field === "boards"));
      const cursor = assertProblem(await rest.call("GET", "/api/v1/search?q=kaleidoscope&cursor=bm90LWEtY3Vyc29y", { token }), 400, "INVALID_PARAMETERS");
      assert.ok(cursor.errors?.some((error) => error.field === "cursor"));
    });
  });
});
