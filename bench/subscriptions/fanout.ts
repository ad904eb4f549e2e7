// Subscription fan-out: SOCKETS concurrent graphql-ws sockets on ONE gateway instance, all
// subscribed to one board's activity (with a cross-subgraph item selection), then one change at a
// time: time from the mutation to the last socket receiving the event (and p50/p99 across
// sockets), the gateway's RSS before and after connecting and after each event, time to connect.
//
//   node bench/subscriptions/fanout.ts
//   BENCH_DISTINCT_USERS=10000 node bench/subscriptions/fanout.ts                 one user per socket
//   BENCH_DISTINCT_USERS=10000 BENCH_SELECTION=viewer node bench/subscriptions/fanout.ts
//
// BENCH_SELECTION: `board` (default) selects only fields of the event's item and board, whose
// answer is shared by every reader of the board (one federated fetch per event); `viewer` selects
// `actor { boards }`, whose answer differs per user (one federated fetch per user and event).
// BENCH_DISTINCT_USERS=N creates N MEMBERs and gives each socket its own (0: the five role holders).
//
// Processes: this one (fresh database, mutations, report), children/stack.ts mode "subgraphs" (the
// four subgraphs; its own gateway idles), children/gateway.ts (the measured gateway, alone in its
// process), children/pipeline.ts (outbox relay + bridge on the machine's Kafka and Redis), and
// CLIENT_PROCESSES × children/clients.ts holding the sockets.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatProfile, summarizeProfile } from "../gateway/profile.ts";
import { summarizeHeap, type HeapRow } from "./heap-summary.ts";
import { Redis } from "./redis.ts";
import { migrate } from "../../prisma/tools/migrate.ts";
import { seedDemo } from "../../prisma/seed.ts";
import { createPrisma } from "../../platform/db.ts";
import { mintToken } from "../../gateway/src/auth/jwt.ts";
import { ensureKafka } from "../../infra/kafka/ready.ts";
import type { MembershipRole } from "../../generated/prisma/client.ts";
import {
  BENCH_JWT,
  BENCH_SIGNING_SECRET,
  REDIS_URL,
  cpuOf,
  createDatabase,
  databaseBackends,
  dropDatabase,
  fmt,
  loadAverage,
  machineBusyMs,
  memoryMb,
  now,
  numberEnv,
  sleep,
  startChild,
  summary,
  table,
  waitForQuiet,
  type Child,
} from "./lib.ts";
import { BOARD_ACTIVITY, BOARD_ACTIVITY_VIEWER } from "./ws-client.ts";

const SOCKETS = numberEnv("BENCH_SOCKETS", 10_000);
const CLIENT_PROCESSES = numberEnv("BENCH_CLIENT_PROCESSES", 4);
const BATCH = numberEnv("BENCH_CONNECT_BATCH", 100);
const CHANGES = numberEnv("BENCH_CHANGES", 5);
const EVENT_TIMEOUT_MS = numberEnv("BENCH_EVENT_TIMEOUT_MS", 60_000);
const QUIET_WAIT = numberEnv("BENCH_QUIET_WAIT", 30);
const QUIET_CORES = numberEnv("BENCH_QUIET_CORES", 0.25);
/** CPU-profile the gateway over the measured changes (the sampler costs some speed: read its shares). */
const PROFILE = numberEnv("BENCH_PROFILE", 0) !== 0;
/** Heap snapshots of the gateway before and after connecting: what each socket keeps (slow with many sockets). */
const HEAP = numberEnv("BENCH_HEAP_SNAPSHOT", 0) !== 0;
const DISTINCT_USERS = numberEnv("BENCH_DISTINCT_USERS", 0);
const SELECTION = process.env.BENCH_SELECTION === "viewer" ? "viewer" : "board";
const GATEWAY_EXEC_ARGV = (process.env.BENCH_GATEWAY_EXEC_ARGV ?? "").split(" ").filter(Boolean);

const selfCpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
const database = `sunday_bench_subs_fanout_${process.pid}`;
const prefix = `bench:subs-fanout:${process.pid}:`;
const ROLES: MembershipRole[] = ["OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST"];
const UPDATE = `mutation BenchRename($input: UpdateItemInput!) { updateItem(input: $input) { id version } }`;

function post(url: string, token: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/graphql`,
      { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** `count` MEMBERs of the organisation (rows, so the subgraphs know them), and a token for each. */
async function distinctMembers(prisma: ReturnType<typeof createPrisma>, organizationId: string, count: number): Promise<string[]> {
  const users = Array.from({ length: count }, (_, index) => ({ id: randomUUID(), organizationId, email: `bench-${index}@example.invalid`, name: `Bench user ${index}` }));
  for (let i = 0; i < users.length; i += 1_000) {
    const slice = users.slice(i, i + 1_000);
    await prisma.user.createMany({ data: slice });
    await prisma.membership.createMany({ data: slice.map((user) => ({ organizationId, userId: user.id, role: "MEMBER" as const })) });
  }
  return Promise.all(users.map((user) => mintToken({ userId: user.id, organizationId, role: "MEMBER" }, BENCH_JWT)));
}

interface ChangeResult {
  label: string;
  received: number;
  duplicates: number;
  responseMs: number;
  toXaddMs: number;
  first: number;
  p50: number;
  p99: number;
  last: number;
  gatewayCpuMs: number;
  clientsCpuMs: number;
  rssAfter: number;
  foreignBefore: number;
  machineCores: number;
  /** Cores used meanwhile by everything but our processes and our database's backends. */
  otherCores: number;
}

async function main() {
  const started = now();
  const limit = (await import("node:fs"))
    .readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((line) => line.startsWith("Max open files"));
  console.log(`subscription fan-out: ${SOCKETS} sockets in ${CLIENT_PROCESSES} client processes, ${CHANGES} changes; load average ${loadAverage()}; ${limit?.replace(/\s+/g, " ")}`);
  const openFiles = Number(/Max open files\s+(\d+)/.exec(limit ?? "")?.[1] ?? 0);
  if (openFiles && openFiles < SOCKETS + 1_000) throw new Error(`the open-file limit (${openFiles}) is below ${SOCKETS + 1_000}: raise it (ulimit -n) first`);
  const children: Child[] = [];
  const clients: Child[] = [];
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const databaseUrl = await createDatabase(database);
    await migrate(databaseUrl);
    const prisma = createPrisma({ url: databaseUrl, poolMax: 2 });
    // A unique seed prefix: the demo seed derives its ids from it, and every test database seeded
    // without one has the same board ids; their events reach our bridge through the shared topics.
    const seed = await seedDemo(prisma, { prefix: `bench${process.pid}` });
    await ensureKafka();
    const subgraphs = await startChild("subgraphs", "stack.ts", {
      mode: "subgraphs",
      databaseUrl,
      signingSecret: BENCH_SIGNING_SECRET,
      jwt: BENCH_JWT,
      redisUrl: REDIS_URL,
      prefix,
      poolMax: 8,
    });
    children.push(subgraphs);
    const gateway = await startChild(
      "gateway",
      "gateway.ts",
      { signingSecret: BENCH_SIGNING_SECRET, jwt: BENCH_JWT, redisUrl: REDIS_URL, prefix, subgraphUrls: subgraphs.info.subgraphUrls },
      { execArgv: GATEWAY_EXEC_ARGV },
    );
    children.push(gateway);
    const pipeline = await startChild("pipeline", "pipeline.ts", { databaseUrl, redisUrl: REDIS_URL, prefix });
    children.push(pipeline);
    const gatewayUrl = gateway.info.gatewayUrl as string;
    const mutateUrl = subgraphs.info.gatewayUrl as string; // mutations through the subgraphs' own (idle) gateway: the measured one only serves sockets
    console.log(
      `gateway pid ${gateway.pid} at ${gatewayUrl}${GATEWAY_EXEC_ARGV.length ? ` (${GATEWAY_EXEC_ARGV.join(" ")})` : ""}; subgraphs pid ${subgraphs.pid}; relay + bridge pid ${pipeline.pid} (${((now() - started) / 1000).toFixed(1)} s)`,
    );

    const acme = seed.organizations[0];
    const board = acme.boards[0];
    const mutator = await mintToken({ userId: acme.userIdsByRole.OWNER, organizationId: acme.id, role: "OWNER" }, BENCH_JWT);
    const tokens =
      DISTINCT_USERS > 0
        ? await distinctMembers(prisma, acme.id, DISTINCT_USERS)
        : await Promise.all(ROLES.map((role) => mintToken({ userId: acme.userIdsByRole[role], organizationId: acme.id, role }, BENCH_JWT)));
    console.log(`${tokens.length} distinct users; selection: ${SELECTION}`);
    const itemId = board.itemIds[0]!;
    let version = (await prisma.item.findUniqueOrThrow({ where: { id: itemId } })).version;

    // Only profiles are kept (the path is printed); heap snapshots are deleted once summarised.
    const workDir = PROFILE || HEAP ? mkdtempSync(join(tmpdir(), "sunday-bench-subs-")) : "";
    const rssIdle = memoryMb(gateway.pid).rss;
    if (HEAP) await gateway.request("heap-snapshot", { path: join(workDir, "before.heapsnapshot") }, 600_000);
    const tokensFile = join(mkdtempSync(join(tmpdir(), "sunday-bench-tokens-")), "tokens.json");
    writeFileSync(tokensFile, JSON.stringify(tokens));
    const perProcess = Math.ceil(SOCKETS / CLIENT_PROCESSES);
    for (let i = 0; i < CLIENT_PROCESSES; i += 1) {
      const count = Math.min(perProcess, SOCKETS - i * perProcess);
      clients.push(
        await startChild(`clients-${i}`, "clients.ts", {
          url: gatewayUrl,
          tokensFile,
          count,
          offset: i * perProcess,
          query: SELECTION === "viewer" ? BOARD_ACTIVITY_VIEWER : BOARD_ACTIVITY,
          variables: { boardId: board.id },
          batch: BATCH,
        }),
      );
    }
    const done = new Map<string, number>();
    const doneWaiters = new Map<string, () => void>();
    for (const client of clients) {
      client.on("done", (message) => {
        const name = message.name as string;
        const count = (done.get(name) ?? 0) + 1;
        done.set(name, count);
        if (count === clients.length) doneWaiters.get(name)?.();
      });
    }
    const quiet0 = await waitForQuiet([gateway.pid, subgraphs.pid, pipeline.pid, ...clients.map((c) => c.pid)], database, QUIET_WAIT, QUIET_CORES);
    console.log(`before connecting: gateway RSS ${fmt(rssIdle, 0)} MB; other processes ${quiet0.foreign.toFixed(2)} cores`);

    const gatewayCpu0 = cpuOf([gateway.pid]);
    const connectStarted = now();
    const connected = await Promise.all(clients.map((client) => client.request<{ connected: number; failed: number; failures: Record<string, number>; ms: number }>("connect", {}, 600_000)));
    const connectMs = now() - connectStarted;
    const gatewayConnectCpu = cpuOf([gateway.pid]) - gatewayCpu0;
    const totalConnected = connected.reduce((sum, c) => sum + c.connected, 0);
    const failures = connected.flatMap((c) => Object.entries(c.failures));
    console.log(
      `connected ${totalConnected}/${SOCKETS} in ${(connectMs / 1000).toFixed(1)} s (gateway CPU ${fmt(gatewayConnectCpu / 1000, 1)} s, ${fmt(gatewayConnectCpu / totalConnected, 2)} ms/socket)${failures.length ? `; failures: ${JSON.stringify(failures)}` : ""}`,
    );
    await sleep(3_000); // the last subscriptions reach their tail
    const sockets = await gateway.request<number>("sockets");
    const memAfterConnect = memoryMb(gateway.pid);
    const heapAfterConnect = await gateway.request<NodeJS.MemoryUsage>("memory");
    console.log(`gateway: ${sockets} open sockets, RSS ${fmt(memAfterConnect.rss, 0)} MB (heap used ${fmt(heapAfterConnect.heapUsed / 2 ** 20, 0)} MB)`);

    if (HEAP) {
      await gateway.request("heap-snapshot", { path: join(workDir, "after.heapsnapshot") }, 600_000);
      const before = summarizeHeap(join(workDir, "before.heapsnapshot"));
      const after = summarizeHeap(join(workDir, "after.heapsnapshot"));
      const old = new Map(before.rows.map((row) => [`${row.type}\n${row.name}`, row]));
      const grown: HeapRow[] = after.rows
        .map((row) => {
          const was = old.get(`${row.type}\n${row.name}`);
          return { ...row, count: row.count - (was?.count ?? 0), bytes: row.bytes - (was?.bytes ?? 0) };
        })
        .sort((a, b) => b.bytes - a.bytes);
      console.log(
        `\nheap growth from connecting ${totalConnected} sockets: ${fmt((after.total - before.total) / 2 ** 20, 1)} MB self size (${fmt((after.total - before.total) / totalConnected, 0)} bytes per socket); top 20:\n`,
      );
      console.log(
        table(
          ["type", "constructor / name", "count per socket", "bytes per socket", "MB"],
          grown.slice(0, 20).map((row) => [row.type, row.name || "–", fmt(row.count / totalConnected, 1), fmt(row.bytes / totalConnected, 0), fmt(row.bytes / 2 ** 20, 1)]),
        ),
      );
      console.log("");
    }
    const clientPids = clients.map((c) => c.pid);
    const results: ChangeResult[] = [];
    for (let change = 0; change <= CHANGES; change += 1) {
      const label = change === 0 ? "0 (first, cold)" : String(change);
      const quiet = change === 0 ? { foreign: NaN, waited: 0 } : await waitForQuiet([gateway.pid, subgraphs.pid, pipeline.pid, ...clientPids], database, QUIET_WAIT, QUIET_CORES);
      const name = `fan-${process.pid}-${change}`;
      if (PROFILE && change === 1) await gateway.request("profile-start");
      await Promise.all(clients.map((client) => client.request("expect", { name })));
      const all = new Promise<void>((resolve) => doneWaiters.set(name, resolve));
      const cpuGateway0 = cpuOf([gateway.pid]);
      const cpuClients0 = cpuOf(clientPids);
      const ours0 = cpuOf([subgraphs.pid, pipeline.pid, ...databaseBackends(database)]) + selfCpuMs();
      const machine0 = machineBusyMs();
      const sentAt = now();
      const answer = JSON.parse(await post(mutateUrl, mutator, JSON.stringify({ query: UPDATE, variables: { input: { id: itemId, expectedVersion: version, name } } }))) as {
        data?: { updateItem?: { version: number } };
      };
      const respondedAt = now();
      if (!answer.data?.updateItem) throw new Error(`updateItem failed: ${JSON.stringify(answer)}`);
      version = answer.data.updateItem.version;
      await Promise.race([all, sleep(EVENT_TIMEOUT_MS)]);
      const finishedAt = now();
      const cpuGateway = cpuOf([gateway.pid]) - cpuGateway0;
      const cpuClients = cpuOf(clientPids) - cpuClients0;
      const machine = machineBusyMs() - machine0;
      const oursOther = cpuOf([subgraphs.pid, pipeline.pid, ...databaseBackends(database)]) + selfCpuMs() - ours0;
      await sleep(500); // late duplicates
      const collected = await Promise.all(clients.map((client) => client.request<{ times: number[]; duplicates: number; cursorMs: number }>("collect", { name })));
      const times = collected.flatMap((c) => c.times.map((t) => t - sentAt));
      const s = summary(times);
      const cursorMs = collected.find((c) => Number.isFinite(c.cursorMs))?.cursorMs ?? NaN;
      const result: ChangeResult = {
        label,
        received: times.length,
        duplicates: collected.reduce((sum, c) => sum + c.duplicates, 0),
        responseMs: respondedAt - sentAt,
        toXaddMs: cursorMs - sentAt,
        first: Math.min(...times),
        p50: s.p50,
        p99: s.p99,
        last: s.max,
        gatewayCpuMs: cpuGateway,
        clientsCpuMs: cpuClients,
        rssAfter: memoryMb(gateway.pid).rss,
        foreignBefore: quiet.foreign,
        machineCores: machine / (finishedAt - sentAt),
        otherCores: Math.max(0, machine - cpuGateway - cpuClients - oursOther) / (finishedAt - sentAt),
      };
      results.push(result);
      console.log(
        `change ${label}: ${result.received}/${totalConnected} received, last ${fmt(result.last, 0)} ms (p50 ${fmt(result.p50, 0)}, p99 ${fmt(result.p99, 0)}), duplicates ${result.duplicates}, gateway RSS ${fmt(result.rssAfter, 0)} MB`,
      );
    }
    const peak = memoryMb(gateway.pid).peak;
    if (PROFILE) {
      const file = await gateway.request<string>("profile-stop", { path: join(workDir, "gateway-fanout.cpuprofile") });
      console.log(`\ngateway CPU profile over changes 1–${CHANGES} (${file}):\n`);
      console.log(formatProfile(summarizeProfile(file, 15)));
    }
    if (HEAP) for (const file of ["before.heapsnapshot", "after.heapsnapshot"]) rmSync(join(workDir, file), { force: true });

    console.log(`\n## Subscription fan-out: ${totalConnected} sockets on one gateway, one board\n`);
    console.log(
      table(
        ["", "value"],
        [
          ["distinct users / selection", `${tokens.length} / ${SELECTION === "viewer" ? "viewer-dependent (actor { boards })" : "board-scoped (item, assignees, board)"}`],
          ["sockets connected / asked", `${totalConnected} / ${SOCKETS} (${CLIENT_PROCESSES} client processes, ${BATCH} handshakes in flight each)`],
          ["time to connect and subscribe all", `${fmt(connectMs / 1000, 1)} s (${fmt(totalConnected / (connectMs / 1000), 0)} sockets/s)`],
          ["gateway CPU while connecting", `${fmt(gatewayConnectCpu / 1000, 1)} s (${fmt(gatewayConnectCpu / totalConnected, 2)} ms per socket)`],
          ["gateway RSS before connecting", `${fmt(rssIdle, 0)} MB`],
          [
            "gateway RSS after connecting",
            `${fmt(memAfterConnect.rss, 0)} MB (${fmt(((memAfterConnect.rss - rssIdle) * 1024) / totalConnected, 1)} KB per socket; heap used ${fmt(heapAfterConnect.heapUsed / 2 ** 20, 0)} MB)`,
          ],
          ["gateway RSS after the last change / peak (VmHWM)", `${fmt(results.at(-1)?.rssAfter ?? NaN, 0)} MB / ${fmt(peak, 0)} MB`],
        ],
      ),
    );
    console.log("");
    console.log(
      table(
        [
          "change",
          "received",
          "dup",
          "mutation response ms",
          "sent -> XADD ms",
          "first socket ms",
          "p50 ms",
          "p99 ms",
          "last socket ms",
          "gateway CPU ms",
          "clients CPU ms",
          "machine busy (cores)",
          "other load before / during (cores)",
          "gateway RSS after MB",
        ],
        results.map((r) => [
          r.label,
          `${r.received}/${totalConnected}`,
          String(r.duplicates),
          fmt(r.responseMs),
          fmt(r.toXaddMs),
          fmt(r.first),
          fmt(r.p50),
          fmt(r.p99),
          fmt(r.last),
          fmt(r.gatewayCpuMs, 0),
          fmt(r.clientsCpuMs, 0),
          fmt(r.machineCores, 2),
          `${fmt(r.foreignBefore, 2)} / ${fmt(r.otherCores, 2)}`,
          fmt(r.rssAfter, 0),
        ]),
      ),
    );
    const lost = results.some((r) => r.received !== totalConnected || r.duplicates > 0);
    if (lost || totalConnected !== SOCKETS) process.exitCode = 1;
    await prisma.$disconnect();
  } finally {
    for (const child of [...clients, ...children.reverse()]) await child.stop().catch((error: unknown) => console.error(error));
    const keys = await redis.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    redis.disconnect();
    await dropDatabase(database).catch((error: unknown) => console.error(`dropping ${database} failed`, error));
    console.log(`\ncleaned up: ${database} dropped, Redis keys ${prefix}* deleted, children stopped (${((now() - started) / 1000).toFixed(0)} s in all)`);
  }
}

await main();
