/**
 * A bad-input suite of our own: malformed requests generated (fast-check, fixed seed) from the
 * served OpenAPI document and the introspected GraphQL schema, over every REST route and every
 * GraphQL query and mutation (subscriptions by POST/GET, which must be refused). Whatever is wrong
 * with a request, the answer is a 4xx with a code in time, the connection stays usable, the process
 * stays up and nothing is stored without a 2xx.
 *
 * Reproduce a run with BAD_INPUT_SEED=<seed printed at the start>.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import fc from "fast-check";
import { pino } from "pino";
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery } from "graphql";
import { startHarness, type Harness } from "./support/harness.ts";
import { ROUTES } from "../gateway/src/rest/routes.ts";
import { makeFixture, type Fixture } from "./support/bad-input/fixture.ts";
import type { BadRequest } from "./support/bad-input/request.ts";
import { operationsOf, restRequests } from "./support/bad-input/rest-requests.ts";
import { graphqlOperations, graphqlRequests, operationName } from "./support/bad-input/graphql-requests.ts";
import { runAll, type Outcome, type Run } from "./support/bad-input/runner.ts";
import { countRows, unexplained, type Counts } from "./support/bad-input/ledger.ts";
import { badStoredText, badStoredValues } from "./support/bad-input/stored-text.ts";

const SEED = Number(process.env.BAD_INPUT_SEED ?? 20_261_204);
/** Requests per operation, more where there is more input to get wrong: about 3,100 in all. */
const PER_REST_OPERATION = { withBody: 100, withoutBody: 50 };
const PER_GRAPHQL_OPERATION = { mutation: 36, query: 20, subscription: 4 };
const CONNECTIONS = 6;

/** A rule's breaches, one line per distinct (target, malformation, breach), at most `limit` of them. */
function report(outcomes: readonly Outcome[], breaches: (outcome: Outcome) => string[], limit = 60): string {
  const distinct = new Map<string, { count: number; example: Outcome; breach: string }>();
  for (const outcome of outcomes) {
    for (const breach of breaches(outcome)) {
      const key = `${outcome.request.target} | ${outcome.request.malformation} | ${breach}`;
      const entry = distinct.get(key);
      if (entry) entry.count += 1;
      else distinct.set(key, { count: 1, example: outcome, breach });
    }
  }
  const lines = [...distinct.values()].map(
    ({ count, example, breach }) =>
      `#${example.index} ${example.request.method} ${example.request.path.slice(0, 120)} [${example.request.target}] ${example.request.malformation} (${example.request.credential.slice(0, 24)}): ${breach}${count > 1 ? ` (x${count})` : ""} -> ${(example.error ?? example.text).slice(0, 300)}`,
  );
  return `${distinct.size} distinct (seed ${SEED}):\n${lines.slice(0, limit).join("\n")}${lines.length > limit ? `\n... and ${lines.length - limit} more` : ""}`;
}

/** Successful writes per mutation root field. */
function writesOf(run: Run): Map<string, number> {
  const writes = new Map<string, number>();
  for (const outcome of run.outcomes) if (outcome.wrote > 0 && outcome.request.writes) writes.set(outcome.request.writes, (writes.get(outcome.request.writes) ?? 0) + outcome.wrote);
  return writes;
}

/** Interleaves the per-target lists, so each stretch of the run touches every route and operation. */
function interleave<T>(lists: readonly T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; lists.some((list) => i < list.length); i++) for (const list of lists) if (i < list.length) out.push(list[i] as T);
  return out;
}

describe("bad input, generated from the API's own descriptions, never gets a 5xx or stores anything", () => {
  let harness: Harness;
  let fixture: Fixture;
  let requests: BadRequest[];
  let run: Run;
  let before_: Counts;
  let after_: Counts;
  let restTargets: string[];
  let graphqlTargets: string[];
  let healthy: number;
  let textBefore: string[];
  let textAfter: string[];
  const logged: string[] = [];

  before(async () => {
    // Errors the stack logs (a 5xx's cause) are kept for the failure report, not printed.
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(...chunk.toString("utf8").split("\n").filter(Boolean));
        done();
      },
    });
    harness = await startHarness("bad_input", { itemsPerBoard: 10, logger: pino({ level: "error" }, sink) });
    fixture = await makeFixture(harness);
    const base = harness.stack.gateway.url;

    const document = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as Record<string, unknown>;
    const introspection = await harness.gql(await harness.token(0, "OWNER"), getIntrospectionQuery());
    assert.equal(introspection.body.errors, undefined);
    const schema = buildClientSchema(introspection.body.data as unknown as IntrospectionQuery);

    const routeMutation = new Map(ROUTES.filter((route) => route.method !== "GET").map((route) => [`${route.method} ${route.path}`, route.select.split(".")[0] as string]));
    const rest = operationsOf(document);
    const graphql = graphqlOperations(schema);
    restTargets = rest.map((operation) => `${operation.method} ${operation.template}`);
    graphqlTargets = graphql.map(operationName);
    const lists = [
      ...rest.map((operation, i) =>
        fc.sample(
          restRequests(fixture, operation, (method, template) => routeMutation.get(`${method} ${template}`)),
          { seed: SEED + i, numRuns: operation.body ? PER_REST_OPERATION.withBody : PER_REST_OPERATION.withoutBody },
        ),
      ),
      ...graphql.map((operation, i) => fc.sample(graphqlRequests(fixture, operation), { seed: SEED + 1_000 + i, numRuns: PER_GRAPHQL_OPERATION[operation.root] })),
    ];
    requests = interleave(lists);
    console.log(`bad-input: seed ${SEED} (BAD_INPUT_SEED to change), ${requests.length} requests over ${rest.length} REST operations and ${graphql.length} GraphQL fields`);

    before_ = await countRows(harness);
    textBefore = [...(await badStoredText(harness)), ...(await badStoredValues(harness))];
    run = await runAll(base, fixture, requests, { connections: CONNECTIONS });
    after_ = await countRows(harness);
    textAfter = [...(await badStoredText(harness)), ...(await badStoredValues(harness))];
    healthy = (await fetch(`${base}/healthz`)).status;

    const byStatus = new Map<string, number>();
    for (const outcome of run.outcomes) {
      const key = `${outcome.request.surface} ${outcome.status === 0 ? "no answer" : outcome.status}`;
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    }
    if (process.env.BAD_INPUT_VERBOSE) {
      // Per target and status, to see what a generator reaches (BAD_INPUT_VERBOSE=1).
      const byTarget = new Map<string, { count: number; example: Outcome }>();
      for (const outcome of run.outcomes) {
        const key = `${outcome.request.target} ${outcome.status}`;
        const entry = byTarget.get(key);
        if (entry) entry.count += 1;
        else byTarget.set(key, { count: 1, example: outcome });
      }
      const line = ([key, { count, example }]: [string, { count: number; example: Outcome }]) => `  ${key}: ${count} (e.g. ${example.request.malformation}: ${example.text.slice(0, 160)})`;
      console.log(
        [...byTarget.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(line)
          .join("\n"),
      );
    }
    const slowest = Math.max(...run.outcomes.map((outcome) => outcome.ms));
    console.log(
      `bad-input: ${run.outcomes.length} requests in ${(run.ms / 1000).toFixed(1)} s (slowest ${Math.round(slowest)} ms); by status:\n${[...byStatus.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, count]) => `  ${key}: ${count}`)
        .join("\n")}\n2xx writes: ${JSON.stringify(Object.fromEntries(writesOf(run)))}`,
    );
  });
  after(() => harness?.dispose());

  it("sends at least 2,000 malformed requests over every REST route and every GraphQL query, mutation and subscription", () => {
    assert.ok(run.outcomes.length >= 2_000, `${run.outcomes.length} requests`);
    const targets = new Set(run.outcomes.map((outcome) => outcome.request.target));
    for (const target of [...restTargets, ...graphqlTargets]) assert.ok(targets.has(target), `${target} got no bad request`);
    // Documented routes of the table: the served document must not have lost one.
    assert.equal(restTargets.length, ROUTES.length);
  });

  it("answers no malformed request with a 5xx, and every request within 5 s", () => {
    const broken = run.outcomes.filter((outcome) => outcome.failures.some((failure) => /^status 5|^took|^no answer/.test(failure)));
    const causes = [
      ...new Set(
        logged.map((line) => {
          const entry = JSON.parse(line) as { msg?: string; err?: { message?: string; code?: string } };
          return `${entry.msg ?? ""}: ${entry.err?.code ?? ""} ${(entry.err?.message ?? "").slice(0, 160)}`;
        }),
      ),
    ];
    assert.equal(
      broken.length,
      0,
      `${report(broken, (outcome) => outcome.failures.filter((failure) => /^status 5|^took|^no answer/.test(failure)))}\nlogged errors:\n${causes.slice(0, 30).join("\n")}`,
    );
  });

  it("answers every REST refusal with application/problem+json and a code", () => {
    const rule = (outcome: Outcome) => (outcome.request.surface === "rest" && outcome.status < 500 ? outcome.failures.filter((failure) => /problem|content type|not JSON/.test(failure)) : []);
    const broken = run.outcomes.filter((outcome) => rule(outcome).length > 0);
    assert.equal(broken.length, 0, report(broken, rule));
  });

  it("gives every GraphQL error an extensions.code, and refuses subscriptions and mutations over plain HTTP GET with a 4xx", () => {
    const rule = (outcome: Outcome) => (outcome.request.surface === "graphql" && outcome.status < 500 ? outcome.failures.filter((failure) => /GraphQL|not JSON|expected a 4xx/.test(failure)) : []);
    const broken = run.outcomes.filter((outcome) => rule(outcome).length > 0);
    assert.equal(broken.length, 0, report(broken, rule));
  });

  it("keeps each keep-alive connection usable: the next request on it after a refusal is answered", () => {
    const lines = run.poisoned.slice(0, 40).map(({ index, request, error }) => `#${index} ${request.method} ${request.path.slice(0, 100)} [${request.target}] ${request.malformation}: ${error}`);
    assert.equal(run.poisoned.length, 0, `${run.poisoned.length} poisoned connections (seed ${SEED}):\n${lines.join("\n")}`);
  });

  it("stays up: /healthz answers 200 after the run", () => {
    assert.equal(healthy, 200);
  });

  describe("a variable with 100,000 wrongly typed entries (found by this suite: ~15 s of stalled event loop and a 20 MB answer)", () => {
    const query = "mutation Hook($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }";
    const post = async (events: unknown[]) => {
      const started = performance.now();
      const response = await fetch(`${harness.stack.gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: fixture.authorization.owner as string },
        body: JSON.stringify({ query, variables: { input: { url: "https://partner.example/hook", events } } }),
      });
      const text = await response.text();
      return { status: response.status, ms: performance.now() - started, bytes: text.length, errors: (JSON.parse(text) as { errors: { extensions?: { code?: string } }[] }).errors };
    };

    it("is refused at once with one BAD_USER_INPUT error instead of one error per entry", async () => {
      const answer = await post(new Array(100_000).fill(0));
      assert.equal(answer.status, 400);
      assert.deepEqual(
        answer.errors.map((error) => error.extensions?.code),
        ["BAD_USER_INPUT"],
      );
      assert.ok(answer.bytes < 2_000, `${answer.bytes} bytes`);
      assert.ok(answer.ms < 1_000, `${Math.round(answer.ms)} ms`);
    });

    it("leaves a few wrong entries to the usual per-entry errors", async () => {
      const answer = await post([0, 1, 2]);
      assert.equal(answer.status, 400);
      assert.deepEqual(
        answer.errors.map((error) => error.extensions?.code),
        ["BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT"],
      );
    });
  });

  it("stores no text the input rules refuse (control or bidi characters in names, replaced surrogates) and no column value of the wrong shape", () => {
    assert.deepEqual(textBefore, []);
    assert.deepEqual(textAfter, []);
  });

  describe("an Accept header no answer can satisfy (found by this suite: the mutation ran, then 406)", () => {
    const createBoard = (accept: string) =>
      fetch(`${harness.stack.gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: fixture.authorization.owner as string, accept },
        body: JSON.stringify({
          query: "mutation Make($input: CreateBoardInput!) { createBoard(input: $input) { id } }",
          variables: { input: { workspaceId: fixture.workspaceId, name: "Accept probe" } },
        }),
      });

    for (const accept of ["application/xml", "text/event-stream", "multipart/mixed; deferSpec=20220824", "application/json; charset=latin1"]) {
      it(`refuses Accept: ${accept} with 406 NOT_ACCEPTABLE and creates nothing`, async () => {
        const boards = await harness.prisma.board.count();
        const response = await createBoard(accept);
        assert.equal(response.status, 406);
        assert.deepEqual(
          ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors.map((error) => error.extensions.code),
          ["NOT_ACCEPTABLE"],
        );
        assert.equal(await harness.prisma.board.count(), boards);
      });
    }

    it("still runs it for the Accept headers GraphQL clients send", async () => {
      for (const accept of ["application/graphql-response+json, application/json;q=0.9", "*/*", "application/json; charset=utf-8"]) {
        const response = await createBoard(accept);
        assert.equal(response.status, 200, accept);
        assert.ok(((await response.json()) as { data?: { createBoard?: { id: string } } }).data?.createBoard?.id, accept);
      }
    });
  });

  it("codes a refused persisted query (wrong version, hash not the document's) BAD_REQUEST, not INTERNAL_SERVER_ERROR (found by this suite)", async () => {
    for (const persistedQuery of [
      { version: 1, sha256Hash: "f".repeat(64) },
      { version: 99, sha256Hash: "x" },
    ]) {
      const response = await fetch(`${harness.stack.gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: fixture.authorization.owner as string },
        body: JSON.stringify({ query: "{ me { id } }", extensions: { persistedQuery } }),
      });
      assert.equal(response.status, 400);
      assert.deepEqual(
        ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors.map((error) => error.extensions.code),
        ["BAD_REQUEST"],
      );
    }
  });

  it("refuses a body that is not UTF-8 with 400 instead of storing U+FFFD in its place (found by this suite)", async () => {
    // {"name":"<a UTF-16 surrogate encoded as UTF-8: ED A0 80>"}: decoded leniently, a group named "\ufffd\ufffd\ufffd".
    const bytes = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    const groups = await harness.prisma.group.count();
    const rest = await fetch(`${harness.stack.gateway.url}/api/v1/boards/${fixture.boardId}/groups`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: fixture.authorization.owner as string },
      body: bytes,
    });
    assert.equal(rest.status, 400);
    assert.equal(((await rest.json()) as { code: string }).code, "BAD_REQUEST");
    const graphql = await fetch(`${harness.stack.gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: fixture.authorization.owner as string },
      body: Buffer.concat([Buffer.from(`{"query":"mutation { createGroup(input: { boardId: \\"${fixture.boardId}\\", name: \\"`), Buffer.from([0xff, 0xfe]), Buffer.from('\\" }) { id } }"}')]),
    });
    assert.equal(graphql.status, 400);
    assert.deepEqual(
      ((await graphql.json()) as { errors: { extensions: { code: string } }[] }).errors.map((error) => error.extensions.code),
      ["BAD_REQUEST"],
    );
    assert.equal(await harness.prisma.group.count(), groups);
  });

  it("changes row counts only by what its 2xx writes allow", () => {
    const writes = writesOf(run);
    const wrong = unexplained(before_, after_, writes);
    assert.deepEqual(wrong, [], `2xx writes: ${JSON.stringify(Object.fromEntries(writes))}`);
  });
});
