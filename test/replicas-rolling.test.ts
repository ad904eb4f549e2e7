// Stateless replicas (the scale-out issue): two processes of every subgraph and three gateways
// (`scripts/serve.ts`, as production runs them), a round-robin proxy in front of each kind, and a
// rolling restart of each kind, one process at a time, under steady load: no request fails, and
// every live subscriber gets every change exactly once, in order, resuming after its gateway goes.
//
// The roll does what Kubernetes does for a Deployment behind a Service: the replica leaves the
// endpoints (the proxy's rotation) before SIGTERM, drains and exits, and its replacement joins
// once its probe answers. The relay and the bridge run in this process (their restarts are the
// pipeline tests' business); Redis is a server of this file's own, Kafka the machine's broker
// with topics of this file's own.
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createPrisma, type PrismaClient } from "../platform/db.ts";
import { seedDemo, type DemoSeed } from "../prisma/seed.ts";
import { mintToken } from "../gateway/src/auth/jwt.ts";
import { createKafka, topicsOf } from "../events/kafka.ts";
import { startPipeline, type Pipeline } from "../events/pipeline.ts";
import { freshDatabase, type FreshDatabase } from "./support/migrated-database.ts";
import { preflight } from "./support/preflight.ts";
import { freePort } from "./support/free-port.ts";
import { startRedisServer, type OwnRedisServer } from "./support/redis-server.ts";
import { startRoundRobin, type RoundRobin } from "./support/round-robin.ts";
import { startServedPart, type ServedPart, type ServedPartName } from "./support/served-part.ts";
import { ResumingSubscriber } from "./support/faults/resuming-subscriber.ts";
import { assertExact, count } from "./support/faults/counting.ts";
import { bounded, sleep, waitFor, within } from "./support/wait.ts";
import { TEST_JWT, TEST_SIGNING_SECRET } from "./support/harness.ts";
import { streamsOf } from "../events/streams/names.ts";

const SUBGRAPHS = ["users", "projects", "items", "integrations"] as const;
const SUBGRAPH_REPLICAS = 2;
const GATEWAY_REPLICAS = 3;
const WRITERS = 3;
const READERS = 3;
const SUBSCRIBERS = 4;
/**
 * Between two requests of one load client: each client is a user of its own, and 100 requests a
 * minute per user is the gateways' (shared) rate limit.
 */
const PACE_MS = 650;

/** "warm-up" (first plans, first connections) is not in the figures. */
type Phase = "warm-up" | "before" | "roll" | "after";
interface Sample {
  readonly phase: Phase;
  readonly ms: number;
}
interface Failure {
  readonly client: string;
  readonly what: string;
  readonly detail: string;
}

const UPDATE_ITEM = "mutation RollRename($input: UpdateItemInput!) { updateItem(input: $input) { id version name } }";
const BOARD = "query RollBoard($id: ID!) { board(id: $id) { id name items(first: 10) { nodes { id name version } } } }";
const ITEM = "query RollItem($id: ID!) { item(id: $id) { id name version } }";
/** The users and integrations subgraphs' share of the load. */
const ME = "query RollMe { me { id name } integrations(first: 5) { nodes { id type enabled } } }";

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

describe("stateless replicas: a rolling restart of every part under load", () => {
  let database: FreshDatabase;
  let prisma: PrismaClient;
  let seed: DemoSeed;
  let redisServer: OwnRedisServer;
  let redis: Redis;
  let pipeline: Pipeline;
  let topicPrefix: string;
  const proxies = new Map<ServedPartName, RoundRobin>();
  /** The processes in rotation, by part. */
  const running = new Map<ServedPartName, ServedPart[]>();
  const every: ServedPart[] = [];
  const killAll = () => {
    for (const part of every) part.killNow();
  };
  let envOf: (part: ServedPartName) => Record<string, string>;
  /** How long the first processes took to start (all at once), for the figures. */
  const startUp = { subgraphsMs: 0, gatewaysMs: 0 };
  /** Load clients' users (MEMBERs of the first organisation, which may edit its public board). */
  const tokens: string[] = [];

  const proxy = (part: ServedPartName): RoundRobin => {
    const found = proxies.get(part);
    if (!found) throw new Error(`no proxy for ${part}`);
    return found;
  };

  async function launch(part: ServedPartName): Promise<ServedPart> {
    const started = await startServedPart(part, envOf(part));
    every.push(started);
    await started.ready();
    return started;
  }

  before(async () => {
    await preflight("postgres", "kafka", "redis-server");
    process.once("exit", killAll);
    database = await freshDatabase("replicas");
    prisma = createPrisma({ url: database.url, poolMax: 4 });
    seed = await seedDemo(prisma, { itemsPerBoard: 8 });
    const organization = seed.organizations[0];
    for (let index = 0; index < WRITERS + READERS + SUBSCRIBERS; index++) {
      const user = await prisma.user.create({ data: { organizationId: organization.id, email: `load${index}@acme.test`, name: `Load ${index}` } });
      await prisma.membership.create({ data: { organizationId: organization.id, userId: user.id, role: "MEMBER" } });
      tokens.push(await mintToken({ userId: user.id, organizationId: organization.id, role: "MEMBER" }, TEST_JWT));
    }

    redisServer = await startRedisServer(await freePort());
    const redisUrl = `redis://127.0.0.1:${redisServer.port}`;
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    topicPrefix = `test.${randomUUID().slice(0, 8)}.`;
    pipeline = await startPipeline({
      kafka: createKafka(`sunday-test-replicas-${process.pid}`),
      databaseUrl: database.url,
      redis,
      topicPrefix,
      logger: pino({ level: "silent" }),
      bridge: { groupId: `test-replicas-${randomUUID()}`, fromBeginning: true, awaitReady: true },
    });

    for (const part of [...SUBGRAPHS, "gateway"] as const) proxies.set(part, await startRoundRobin());
    const subgraphUrls = {
      USERS_URL: `${proxy("users").url}/graphql`,
      PROJECTS_URL: `${proxy("projects").url}/graphql`,
      ITEMS_URL: `${proxy("items").url}/graphql`,
      INTEGRATIONS_URL: `${proxy("integrations").url}/graphql`,
    };
    const webhookKeys = `k1:${randomBytes(32).toString("base64")}`;
    envOf = (part) =>
      part === "gateway"
        ? {
            ...subgraphUrls,
            INTERNAL_SIGNING_SECRET: TEST_SIGNING_SECRET,
            REDIS_URL: redisUrl,
            JWT_SECRET: TEST_JWT.secret,
            JWT_ISSUER: TEST_JWT.issuer,
            JWT_AUDIENCE: TEST_JWT.audience,
          }
        : { ...subgraphUrls, INTERNAL_SIGNING_SECRET: TEST_SIGNING_SECRET, DATABASE_URL: database.url, WEBHOOK_SECRET_KEYS: webhookKeys, REDIS_URL: redisUrl };

    // Every subgraph replica at once, then the gateways (their /readyz asks the subgraphs).
    const subgraphsFrom = performance.now();
    const subgraphs = await Promise.all(SUBGRAPHS.flatMap((part) => Array.from({ length: SUBGRAPH_REPLICAS }, () => launch(part))));
    for (const replica of subgraphs) {
      running.set(replica.part, [...(running.get(replica.part) ?? []), replica]);
      proxy(replica.part).add(replica.url);
    }
    startUp.subgraphsMs = performance.now() - subgraphsFrom;
    const gatewaysFrom = performance.now();
    const gateways = await Promise.all(Array.from({ length: GATEWAY_REPLICAS }, () => launch("gateway")));
    running.set("gateway", gateways);
    for (const gateway of gateways) proxy("gateway").add(gateway.url);
    startUp.gatewaysMs = performance.now() - gatewaysFrom;
  });

  after(async () => {
    for (const part of every) await bounded(`stopping ${part.part}`, () => part.stop());
    for (const roundRobin of proxies.values()) await bounded("closing a proxy", () => roundRobin.close());
    await bounded("closing the pipeline", async () => {
      await pipeline?.close();
      const admin = createKafka(`sunday-test-replicas-cleanup-${process.pid}`).admin();
      await admin.connect();
      const topics = topicsOf(topicPrefix);
      await admin.deleteTopics({ topics: [...topics.domain, topics.deadLetter] }).catch(() => undefined);
      await admin.disconnect();
    });
    redis?.disconnect();
    redisServer?.process.kill("SIGTERM");
    await redisServer?.exited;
    await prisma?.$disconnect();
    await database?.drop();
    process.off("exit", killAll);
  });

  it("fails no request and loses no subscription event while each kind restarts, one process at a time", async (t: TestContext) => {
    const board = seed.organizations[0].boards[0];
    const gatewayUrl = proxy("gateway").url;
    let phase: Phase = "warm-up";
    let stopping = false;
    const samples: Sample[] = [];
    const failures: Failure[] = [];

    /** One request of a load client, timed and checked: a GraphQL answer must be 200 without errors, a REST one 200. */
    async function timed(client: string, what: string, send: () => Promise<Response>, rest = false): Promise<Record<string, unknown> | null> {
      const at = phase;
      const started = performance.now();
      try {
        const response = await send();
        const text = await response.text();
        samples.push({ phase: at, ms: performance.now() - started });
        const body = JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: unknown[] };
        if (response.status !== 200 || (!rest && (body.errors?.length || !body.data))) {
          failures.push({ client, what, detail: `${response.status} ${text.slice(0, 500)}` });
          return null;
        }
        return rest ? (body as Record<string, unknown>) : (body.data ?? null);
      } catch (error) {
        failures.push({ client, what, detail: error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error) });
        return null;
      }
    }
    const graphql = (token: string, query: string, variables: Record<string, unknown>) => () =>
      fetch(`${gatewayUrl}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });

    // Writers: each renames an item of its own over and over; the renames that succeeded are the events expected.
    const sent = new Map<string, string[]>();
    const writer = async (index: number) => {
      const itemId = board.itemIds[index] ?? "";
      const prefix = `w${index}`;
      const names: string[] = [];
      sent.set(prefix, names);
      let { version } = await prisma.item.findUniqueOrThrow({ where: { id: itemId } });
      for (let n = 1; !stopping; n++) {
        const name = `${prefix}-${n}`;
        const data = await timed(prefix, "updateItem", graphql(tokens[index] ?? "", UPDATE_ITEM, { input: { id: itemId, expectedVersion: version, name } }));
        const updated = data?.updateItem as { version: number } | undefined;
        if (updated) {
          version = updated.version;
          names.push(name);
        } else {
          ({ version } = await prisma.item.findUniqueOrThrow({ where: { id: itemId } }));
        }
        await sleep(PACE_MS);
      }
    };
    // Readers: the board with its items, one item, and the same item over REST v1.
    const reader = async (index: number) => {
      const token = tokens[WRITERS + index] ?? "";
      const itemId = board.itemIds[index] ?? "";
      const client = `r${index}`;
      for (let n = 0; !stopping; n++) {
        if (n % 4 === 0) await timed(client, "board", graphql(token, BOARD, { id: board.id }));
        else if (n % 4 === 1) await timed(client, "item", graphql(token, ITEM, { id: itemId }));
        else if (n % 4 === 2) await timed(client, "me", graphql(token, ME, {}));
        else await timed(client, "GET /api/v1/items/{id}", () => fetch(`${gatewayUrl}/api/v1/items/${itemId}`, { headers: { authorization: `Bearer ${token}` } }), true);
        await sleep(PACE_MS);
      }
    };

    // Subscribers resume after the board stream's head as it is now, so none misses a rename made
    // before its first subscription is established. A warm-up rename puts the head after the seed.
    const warm = await timed("warm-up", "updateItem", graphql(tokens[0] ?? "", UPDATE_ITEM, { input: { id: board.itemIds[7], expectedVersion: 1, name: "warm-up" } }));
    assert.ok(warm, JSON.stringify(failures));
    let head = "";
    await waitFor(
      "the warm-up rename in the board stream",
      async () => {
        // The served parts use no key prefix: this Redis is the test's own.
        const entries = await redis.xrange(streamsOf().board(seed.organizations[0].id, board.id).key, "-", "+");
        head = entries.find(([, fields]) => fields.some((field) => field.includes('"warm-up"')))?.[0] ?? "";
        return head !== "";
      },
      () => "",
      60_000,
    ).catch(async (error: unknown) => {
      // Where it stopped: still in the outbox (the relay), or published but not appended (the bridge).
      const rows = await prisma.outboxEvent.findMany({ where: { aggregateId: board.itemIds[7] }, select: { publishedAt: true, attempts: true, lastError: true } });
      throw new Error(`${error instanceof Error ? error.message : String(error)} outbox: ${JSON.stringify(rows)}; pipeline ${JSON.stringify(pipeline.health())}`);
    });
    const subscribers = Array.from({ length: SUBSCRIBERS }, (_, index) => {
      const subscriber = new ResumingSubscriber(`s${index}`, gatewayUrl, tokens[WRITERS + READERS + index] ?? "", board.id, () =>
        Promise.reject(new Error("no refetch: a cursor of this test never expires")),
      );
      subscriber.cursor = head;
      subscriber.start();
      return subscriber;
    });

    const load = [...Array.from({ length: WRITERS }, (_, index) => writer(index)), ...Array.from({ length: READERS }, (_, index) => reader(index))];
    const renames = () => [...sent.values()].reduce((total, names) => total + names.length, 0);
    const steady = async (more: number) => {
      const target = renames() + more;
      await waitFor(
        `${target} renames`,
        () => renames() >= target,
        () => JSON.stringify(failures.slice(0, 5)),
        60_000,
      );
    };

    try {
      await steady(WRITERS * 2);
      phase = "before";
      await steady(WRITERS * 5);
      phase = "roll";
      const restarts: { part: ServedPartName; ms: number; exitCode: number | string }[] = [];
      for (const part of [...SUBGRAPHS, "gateway"] as const) {
        const replicas = running.get(part) ?? [];
        for (const [index, old] of [...replicas].entries()) {
          const started = performance.now();
          // A request of the load is inside the replica when SIGTERM comes: it must be answered,
          // and the replica must still exit promptly and cleanly.
          const held = proxy(part).holdNext(old.url);
          await within(held.started, 60_000, `a request of the load at ${part} ${old.url}`);
          proxy(part).remove(old.url);
          const exited = old.stop();
          await waitFor(
            `${part} ${old.url} to stop listening`,
            async () =>
              (await fetch(`${old.url}/healthz`).then(
                (answer) => answer.body?.cancel(),
                () => "refused",
              )) === "refused",
          );
          held.release();
          const exitCode = await exited;
          const replacement = await launch(part);
          proxy(part).add(replacement.url);
          replicas[index] = replacement;
          restarts.push({ part, ms: performance.now() - started, exitCode });
          // Some load on the new set before the next one goes.
          await steady(WRITERS);
        }
      }
      phase = "after";
      await steady(WRITERS * 3);
      stopping = true;
      await Promise.all(load);

      // Every rename that succeeded reaches every subscriber (woken by its arrival, bounded).
      await waitFor(
        "every subscriber to receive every rename",
        () => subscribers.every((subscriber) => [...sent].every(([prefix, names]) => subscriber.names(prefix).length >= names.length)),
        () => subscribers.map((s) => `${s.label}: ${[...sent.keys()].map((prefix) => s.names(prefix).length).join("/")} endings ${JSON.stringify(s.endings)}`).join("; "),
        60_000,
      );

      // Figures.
      const of = (wanted: Phase) => samples.filter((sample) => sample.phase === wanted).map((sample) => sample.ms);
      const line = (text: string) => {
        console.log(`[replicas] ${text}`);
        t.diagnostic(text);
      };
      line(
        `start-up, all at once on this machine: ${SUBGRAPHS.length * SUBGRAPH_REPLICAS} subgraph processes ${(startUp.subgraphsMs / 1000).toFixed(1)} s, then ${GATEWAY_REPLICAS} gateways ${(startUp.gatewaysMs / 1000).toFixed(1)} s`,
      );
      line(
        `requests served: ${samples.length} (warm-up ${of("warm-up").length}, before ${of("before").length}, during the roll ${of("roll").length}, after ${of("after").length}); failed: ${failures.length}`,
      );
      for (const wanted of ["before", "roll", "after"] as const) {
        line(`${wanted}: p50 ${percentile(of(wanted), 50).toFixed(1)} ms, p99 ${percentile(of(wanted), 99).toFixed(1)} ms`);
      }
      for (const part of [...SUBGRAPHS, "gateway"] as const) {
        const times = restarts.filter((restart) => restart.part === part).map((restart) => `${(restart.ms / 1000).toFixed(1)} s`);
        line(`restart of ${part}: ${times.join(", ")} (remove, SIGTERM, exit, start, ready, add)`);
      }
      line(
        `subscribers: ${subscribers.map((s) => `${s.label} ${s.events.length} events, ${s.sessions - 1} reconnects`).join("; ")}; upgrades per gateway: ${[...proxy("gateway").counts.values()].map((c) => c.upgrades).join("/")}`,
      );
      line(`renames: ${[...sent].map(([prefix, names]) => `${prefix} ${names.length}`).join(", ")}`);

      assert.deepEqual(failures, [], "no request failed");
      assert.deepEqual(
        restarts.filter((restart) => restart.exitCode !== 0),
        [],
        "every replica drained and exited 0 on SIGTERM",
      );
      for (const subscriber of subscribers) {
        for (const [prefix, names] of sent) {
          const delivered = subscriber.names(prefix);
          assertExact(count(`${subscriber.label}/${prefix}`, names, delivered), names, delivered);
        }
        assert.equal(subscriber.expired, 0, `${subscriber.label}: no CURSOR_EXPIRED`);
        // Each gateway went once: every subscriber was on one of them and was told to reconnect
        // (1001), and resumed on another; nothing else ended a subscription.
        assert.ok(subscriber.sessions >= 2, `${subscriber.label} never reconnected`);
        assert.deepEqual(
          subscriber.endings.filter((ending) => ending !== "closed 1001"),
          [],
          `${subscriber.label}: endings other than the gateways' shutdown`,
        );
      }
      const replacements = running.get("gateway") ?? [];
      const resumedOnReplacements = replacements.reduce((total, gateway) => total + (proxy("gateway").counts.get(gateway.url)?.upgrades ?? 0), 0);
      assert.ok(resumedOnReplacements > 0, "subscribers resumed on the gateways started during the roll");
    } finally {
      stopping = true;
      await Promise.all(load);
      await Promise.all(subscribers.map((subscriber) => subscriber.stop()));
    }
  });
});
