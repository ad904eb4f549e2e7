import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { getIntrospectionQuery, parse } from "graphql";
import { checkOperation, countTokens, DEFAULT_OPERATION_LIMITS, MAX_NESTING, refuseSource, type OperationCheck, type OperationLimits } from "../gateway/src/limits/operation-limits.ts";

const federatedOperations = await readFile(new URL("./operations/federated.graphql", import.meta.url), "utf8");

const roomy: OperationLimits = { maxDepth: 100, maxAliases: 1000, maxTokens: 100_000, maxCost: Number.MAX_SAFE_INTEGER, defaultListSize: 50 };

function check(query: string, limits: Partial<OperationLimits> = {}, variables?: Record<string, unknown>, operationName?: string): OperationCheck {
  return checkOperation(parse(query), operationName, variables, { ...roomy, ...limits });
}

function accepted(result: OperationCheck): { depth: number; aliases: number; cost: number } {
  assert.ok(result.ok, `refused: ${JSON.stringify(result)}`);
  return { depth: result.depth, aliases: result.aliases, cost: result.cost };
}

const costOf = (query: string, variables?: Record<string, unknown>, limits: Partial<OperationLimits> = {}) => accepted(check(query, limits, variables)).cost;

describe("operation depth", () => {
  it("refuses a query nested deeper than maxDepth with DEPTH_LIMIT_EXCEEDED", () => {
    const result = check("{ board(id: 1) { owner { boards { nodes { owner { name } } } } } }", { maxDepth: 5 });
    assert.deepEqual(result.ok ? result : { code: result.code, limit: result.limit, actual: result.actual }, {
      code: "DEPTH_LIMIT_EXCEEDED",
      limit: 5,
      actual: 6,
    });
  });

  it("accepts a query exactly at maxDepth and reports its depth", () => {
    assert.equal(accepted(check("{ me { boards { nodes { id } } } }", { maxDepth: 4 })).depth, 4);
  });

  it("counts the depth of named fragments and inline fragments where they are spread", () => {
    const query = `
      query { board(id: 1) { ...BoardPart } }
      fragment BoardPart on Board { items { nodes { ... on Item { ...ItemPart } } } }
      fragment ItemPart on Item { assignees { boards { nodes { name } } } }`;
    assert.equal(accepted(check(query)).depth, 7);
    const refused = check(query, { maxDepth: 6 });
    assert.equal(refused.ok ? "accepted" : refused.code, "DEPTH_LIMIT_EXCEEDED");
  });

  it("leaves __schema and __type subtrees out of depth so GraphiQL's introspection query passes the defaults", () => {
    const introspection = getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, schemaDescription: true, specifiedByUrl: true });
    const result = accepted(checkOperation(parse(introspection), "IntrospectionQuery", undefined, DEFAULT_OPERATION_LIMITS));
    assert.equal(result.depth, 0);
    assert.equal(accepted(check('{ me { id } __type(name: "Board") { fields { type { ofType { ofType { name } } } } } }')).depth, 2);
  });

  it("terminates on fragment cycles, leaving their refusal to validation", () => {
    const query = `
      { me { ...A } }
      fragment A on User { boards { nodes { owner { ...B } } } }
      fragment B on User { name ...A }`;
    const result = accepted(check(query));
    assert.ok(result.depth >= 5);
    // me > boards > nodes > owner > name: the cycle's first pass, not expanded again.
    assert.equal(result.depth, 5);
  });
});

describe("operation aliases", () => {
  const aliased = (count: number) => `{ ${Array.from({ length: count }, (_, index) => `b${index}: board(id: ${index}) { id }`).join(" ")} }`;

  it("refuses more aliases than maxAliases with ALIAS_LIMIT_EXCEEDED", () => {
    const result = checkOperation(parse(aliased(31)), undefined, undefined, DEFAULT_OPERATION_LIMITS);
    assert.equal(result.ok ? "accepted" : `${result.code} ${result.actual}/${result.limit}`, "ALIAS_LIMIT_EXCEEDED 31/30");
  });

  it("accepts maxAliases aliases", () => {
    assert.equal(accepted(checkOperation(parse(aliased(30)), undefined, undefined, DEFAULT_OPERATION_LIMITS)).aliases, 30);
  });

  it("counts the aliases of a fragment once per spread", () => {
    const query = `
      { a: me { ...Names } b: me { ...Names } }
      fragment Names on User { first: name second: name }`;
    assert.equal(accepted(check(query)).aliases, 6);
  });

  it("refuses a fragment bomb at once instead of expanding it", () => {
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, level) =>
      level === levels - 1 ? `fragment F${level} on User { x: id }` : `fragment F${level} on User { ${`...F${level + 1} `.repeat(10)} }`,
    ).join("\n");
    // Expanding 10^39 spreads would never return: that it returns, saturated, is the evidence (no clock: the suite runs on a busy machine).
    const result = check(`{ me { ...F0 } }\n${fragments}`, { maxAliases: 30 });
    assert.equal(result.ok ? "accepted" : result.code, "ALIAS_LIMIT_EXCEEDED");
    assert.ok(!result.ok && Number.isSafeInteger(result.actual), "the count saturates to a JSON-safe number");
    assert.deepEqual(result.ok ? result : { limit: result.limit, actual: result.actual }, { limit: 30, actual: Number.MAX_SAFE_INTEGER });
  });
});

describe("operation tokens", () => {
  it("counts lexical tokens as graphql's parser does, leaving out comments", () => {
    assert.equal(countTokens("{ me { id name } }", 100), 7);
    assert.equal(countTokens("# a comment\n{ me { id } } # another", 100), 6);
    assert.equal(countTokens("query Q($first: Int = 5) { boards(first: $first) { nodes { id } } }", 100), 25);
    assert.throws(() => parse("{ me { id name } }", { maxLexicalTokens: 6 }));
    assert.doesNotThrow(() => parse("{ me { id name } }", { maxLexicalTokens: 7 }));
  });

  it("stops counting one past max, so a huge document costs no more than a small one", () => {
    const huge = `{ ${"a ".repeat(1_000_000)} }`;
    assert.equal(countTokens(huge, 5000), 5001);
  });

  it("stops at a lexical error instead of throwing, leaving the message to the parser", () => {
    assert.equal(countTokens('{ me { name(x: "unterminated) } }', 100), 7);
  });

  it("refuses a document with more tokens than maxTokens with TOKEN_LIMIT_EXCEEDED", () => {
    const fields = Array.from({ length: 200 }, (_, index) => `f${index}`).join(" ");
    const result = check(`{ me { ${fields} } }`, { maxTokens: 100 });
    assert.deepEqual(result.ok ? result : { code: result.code, limit: result.limit, actual: result.actual }, {
      code: "TOKEN_LIMIT_EXCEEDED",
      limit: 100,
      actual: 101,
    });
  });
});

describe("document sources before parsing", () => {
  it("refuses brackets nested deeper than MAX_NESTING under the token limit, which would overflow the parser's stack", () => {
    const deep = `{ item(id: "1") { name } } query Q { search(filter: ${"[".repeat(2_000)}1${"]".repeat(2_000)}) { id } }`;
    assert.ok(countTokens(deep, 5_000) < 5_000);
    assert.deepEqual(refuseSource(deep, 5_000), { code: "NESTING_LIMIT_EXCEEDED", message: `The document nests brackets more than ${MAX_NESTING} deep`, limit: MAX_NESTING, actual: MAX_NESTING + 1 });
  });

  it("accepts GraphiQL's introspection query and nesting up to MAX_NESTING", () => {
    assert.equal(refuseSource(getIntrospectionQuery(), 5_000), null);
    assert.equal(refuseSource(`query { a(x: ${"[".repeat(MAX_NESTING - 2)}1${"]".repeat(MAX_NESTING - 2)}) }`, 5_000), null);
  });
});

describe("operation cost", () => {
  it("charges 1 per field and nothing for __typename", () => {
    assert.equal(costOf("{ me { id name __typename organization { id } } }"), 5);
  });

  it("multiplies a connection's nodes by a literal first, and not its pageInfo", () => {
    // boards 1 + nodes (1 + 20 × (id + name)) + pageInfo (1 + hasNextPage)
    assert.equal(costOf("{ boards(first: 20) { nodes { id name } pageInfo { hasNextPage } } }"), 1 + 1 + 20 * 2 + 2);
  });

  it("multiplies by first taken from the variables, else from the variable's declared default", () => {
    const query = "query Boards($first: Int = 7) { boards(first: $first) { nodes { id } } }";
    assert.equal(costOf(query, { first: 300 }), 2 + 300);
    assert.equal(costOf(query, {}), 2 + 7);
    assert.equal(costOf("query Boards($first: Int) { boards(first: $first) { nodes { id } } }", { first: null }), 2 + 50);
  });

  it("assumes defaultListSize for a connection without first", () => {
    assert.equal(costOf("{ boards { nodes { id } } }"), 2 + 50);
    assert.equal(costOf("{ boards { nodes { id } } }", undefined, { defaultListSize: 10 }), 2 + 10);
  });

  it("multiplies edges like nodes", () => {
    assert.equal(costOf("{ boards(first: 10) { edges { cursor node { id } } } }"), 2 + 10 * 3);
  });

  it("multiplies nested lists together", () => {
    // boards 1 + nodes (1 + 10 × (items 1 + nodes (1 + 100 × id)))
    assert.equal(costOf("{ boards(first: 10) { nodes { items(first: 100) { nodes { id } } } } }"), 2 + 10 * (2 + 100));
  });

  it("multiplies a plain list's whole subtree by its limit", () => {
    assert.equal(costOf("{ me { recent(limit: 25) { id name } } }"), 2 + 25 * 2);
  });

  it("follows page sizes through named and inline fragments on connections", () => {
    const query = `
      query { board(id: 1) { items(first: 200) { ...Page } } }
      fragment Page on ItemConnection { ... on ItemConnection { nodes { ...ItemFields } } pageInfo { endCursor } }
      fragment ItemFields on Item { id name }`;
    // board 1 + items 1 + nodes (1 + 200 × 2) + pageInfo 2
    assert.equal(costOf(query), 3 + 400 + 2);
  });

  it("refuses an operation costlier than maxCost with COST_LIMIT_EXCEEDED", () => {
    const result = checkOperation(parse("{ boards(first: 1000) { nodes { items(first: 1000) { nodes { id } } } } }"), undefined, undefined, DEFAULT_OPERATION_LIMITS);
    assert.deepEqual(result.ok ? result : { code: result.code, limit: result.limit, actual: result.actual }, {
      code: "COST_LIMIT_EXCEEDED",
      limit: 50_000,
      actual: 2 + 1000 * (2 + 1000),
    });
  });

  it("saturates an absurd first instead of overflowing to a number that compares as allowed", () => {
    const result = check(`{ boards(first: ${"9".repeat(400)}) { nodes { id } } }`, { maxCost: 50_000 });
    assert.equal(result.ok ? "accepted" : result.code, "COST_LIMIT_EXCEEDED");
    assert.ok(!result.ok && Number.isSafeInteger(result.actual));
    assert.deepEqual(result.ok ? result : { limit: result.limit, actual: result.actual }, { limit: 50_000, actual: Number.MAX_SAFE_INTEGER });
  });

  it("measures the operation named by operationName, and every operation when the name selects none", () => {
    const document = "query Small { me { id } } query Big { boards(first: 1000) { nodes { id } } }";
    assert.equal(accepted(check(document, {}, undefined, "Small")).cost, 2);
    assert.equal(accepted(check(document, {}, undefined, "Big")).cost, 1002);
    assert.equal(accepted(check(document, {}, undefined, undefined)).cost, 1002);
    assert.equal(accepted(check(document, {}, undefined, "Missing")).cost, 1002);
  });
});

describe("default limits on Sunday's own queries", () => {
  const withDefaults = (query: string, variables?: Record<string, unknown>, operationName?: string) => checkOperation(parse(query), operationName, variables, DEFAULT_OPERATION_LIMITS);

  it("accept 20 boards with 50 items each, their assignees and column values", () => {
    const result = accepted(withDefaults("{ boards(first: 20) { nodes { id name items(first: 50) { nodes { id name assignees { name } columnValues { value } } } } } }"));
    assert.equal(result.cost, 2 + 20 * (2 + 2 + 50 * 6));
  });

  it("accept a board's 1,000 items with assignees, column values and their columns", () => {
    const query = `query BoardView($id: ID!) {
      board(id: $id) {
        id name version
        groups { id name color position }
        columns { id title type settings position }
        items(first: 1000) {
          pageInfo { hasNextPage endCursor }
          edges { cursor node {
            id name position version createdAt updatedAt
            group { id name color }
            creator { id name avatarUrl }
            assignees { id name email avatarUrl }
            columnValues { column { id title type } value version updatedAt }
            subitems { id name done }
          } }
        }
      }
    }`;
    const result = accepted(withDefaults(query, { id: "b1" }));
    assert.ok(result.cost > 30_000, `a rich item costs what it loads (${result.cost})`);
    // board 1 + id name version 3 + groups 1+4 + columns 1+5 + items 1 + pageInfo 1+2 + edges 1, and per
    // edge: cursor 1 + node 1 + 6 scalars + group 1+3 + creator 1+3 + assignees 1+4 + columnValues
    // (1 + column 1+3 + 3) + subitems 1+3 = 33. Lists without a size argument are not multiplied.
    assert.equal(result.cost, 20 + 1000 * 33);
  });

  it("accept the operations the integration tests send, with their page sizes", () => {
    accepted(withDefaults(federatedOperations, { membersFirst: 5, boardsFirst: 5, itemsFirst: 5 }, "OrgMembersBoardsItems"));
    accepted(withDefaults(federatedOperations, { id: "b1", first: 1000 }, "BoardWithItems"));
  });

  it("refuse members × boards × items at the server's default page sizes (125,000 items)", () => {
    const result = withDefaults(federatedOperations, {}, "OrgMembersBoardsItems");
    assert.equal(result.ok ? "accepted" : result.code, "COST_LIMIT_EXCEEDED");
  });

  it("accept the deepest product query written with edges { node }", () => {
    const query = `{ organization { members(first: 5) { edges { node { user { boards(first: 5) { edges { node {
      items(first: 5) { edges { node { assignees { id } } } } } } } } } } } } }`;
    assert.equal(accepted(withDefaults(query)).depth, 13);
  });
});
