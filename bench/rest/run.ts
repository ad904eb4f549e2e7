// REST v1 overhead: the same read (a board's first 100 items) through GET /api/v1/boards/{id}/items
// and through POST /graphql with the operation that route runs, against one gateway on our real
// subgraphs and a seeded PostgreSQL. Prints figures; not a test. See bench/README.md.
//
//   node bench/rest/run.ts
//
// The gateway and the subgraphs are separate child processes, so the gateway's CPU per request
// (from /proc) is measured alone: on a shared 2-core machine that is the figure that holds up.
import { fork, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type autocannonType from "autocannon";
import { machineBusyMs, processCpuMs } from "../lib/proc-cpu.ts";
import { REPO_ROOT, rootRequire, sourceImport } from "../gateway/root.ts";
import type { FromChild, ToChild } from "../gateway/children/ipc.ts";
import { untilReady } from "../lib/child-ready.ts";

const autocannon: typeof autocannonType = await import("autocannon").then(
  (module) => (module as { default: typeof autocannonType }).default,
  () => {
    console.error("autocannon is missing: run `cd bench && npm install` first (benchmark-only packages live in bench/package.json)");
    process.exit(1);
  },
);

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CONNECTIONS = env("BENCH_CONNECTIONS", 10);
const DURATION = env("BENCH_DURATION", 15);
const WARMUP = env("BENCH_WARMUP", 10);
const ROUNDS = env("BENCH_ROUNDS", 2);
const INTERLEAVED = env("BENCH_INTERLEAVED", 400);
const ITEMS = 100;
const SIGNING_SECRET = "bench-rest-signing-secret";
const JWT = { secret: "bench-rest-jwt-secret-at-least-32-bytes!", issuer: "sunday-bench", audience: "sunday-api" };
const WORK = mkdtempSync(join(tmpdir(), "sunday-bench-rest-"));

interface Child {
  readonly pid: number;
  readonly url: string;
  readonly info: Record<string, unknown>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

async function startChild(name: string, script: URL, config: unknown): Promise<Child> {
  const log = join(WORK, `${name}.log`);
  const fd = openSync(log, "a");
  const child = fork(fileURLToPath(script), [], {
    cwd: REPO_ROOT,
    execArgv: [],
    env: { ...process.env, LOG_LEVEL: "warn", NODE_ENV: "production", BENCH_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", fd, fd, "ipc"],
  });
  closeSync(fd);
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      live.delete(child);
      resolve();
    }),
  );
  const ready = await untilReady<Extract<FromChild, { type: "ready" }>>(child, name, 90_000, () => `:\n${readFileSync(log, "utf8").slice(-2000)}`);
  return {
    pid: child.pid as number,
    url: ready.url,
    info: ready.info ?? {},
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: "stop" } satisfies ToChild);
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

interface Workload {
  readonly name: string;
  readonly path: string;
  readonly method: "GET" | "POST";
  readonly headers: Record<string, string>;
  readonly body?: string;
}

interface Window {
  requests: number;
  seconds: number;
  non2xx: number;
  errors: number;
  p50: number[];
  p99: number[];
  gatewayCpuMs: number;
  subgraphCpuMs: number;
  machineBusyMs: number;
  /** Gateway CPU ms per request of each round, to pair REST with GraphQL round by round. */
  gatewayCpuPerRound: number[];
}

const emptyWindow = (): Window => ({ requests: 0, seconds: 0, non2xx: 0, errors: 0, p50: [], p99: [], gatewayCpuMs: 0, subgraphCpuMs: 0, machineBusyMs: 0, gatewayCpuPerRound: [] });

function run(url: string, workload: Workload, seconds: number): Promise<autocannonType.Result> {
  return autocannon({
    url: `${url}${workload.path}`,
    method: workload.method,
    headers: workload.headers,
    ...(workload.body === undefined ? {} : { body: workload.body }),
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 1 ? (sorted[Math.floor(middle)] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

async function main(): Promise<void> {
  const pg = rootRequire("pg") as typeof import("pg");
  const { migrate } = await sourceImport<typeof import("../../prisma/tools/migrate.ts")>("prisma/tools/migrate.ts");
  const { seedDemo } = await sourceImport<typeof import("../../prisma/seed.ts")>("prisma/seed.ts");
  const { createPrisma } = await sourceImport<typeof import("../../platform/db.ts")>("platform/db.ts");
  const { mintToken } = await sourceImport<typeof import("../../gateway/src/auth/jwt.ts")>("gateway/src/auth/jwt.ts");
  const { loadOperationCatalog } = await sourceImport<typeof import("../../gateway/src/rest/operations.ts")>("gateway/src/rest/operations.ts");

  const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const database = `sunday_bench_rest_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${database}`);
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString();
  const children: Child[] = [];
  try {
    console.log(`REST v1 overhead benchmark, ${new Date().toISOString()}; work dir ${WORK}`);
    process.stdout.write(`database ${database}: migrating… `);
    await migrate(databaseUrl);
    process.stdout.write(`seeding (${ITEMS} items per board)… `);
    const prisma = createPrisma({ url: databaseUrl, poolMax: 2 });
    const seed = await seedDemo(prisma, { itemsPerBoard: ITEMS });
    await prisma.$disconnect();
    const acme = seed.organizations[0];
    const board = acme.boards[0];

    process.stdout.write("subgraphs… ");
    const subgraphs = await startChild("subgraphs", new URL("../gateway/children/real-subgraphs.ts", import.meta.url), {
      databaseUrl,
      signingSecret: SIGNING_SECRET,
      jwt: JWT,
      poolMax: 10,
    });
    children.push(subgraphs);
    process.stdout.write("gateway… ");
    const gateway = await startChild("gateway", new URL("./children/gateway.ts", import.meta.url), {
      subgraphUrls: subgraphs.info.subgraphUrls,
      signingSecret: SIGNING_SECRET,
      jwt: JWT,
    });
    children.push(gateway);
    console.log(`ready at ${gateway.url}`);

    const token = await mintToken({ userId: acme.userIdsByRole.OWNER, organizationId: acme.id, role: "OWNER" }, JWT);
    const operation = loadOperationCatalog().operation("RestListBoardItems");
    const auth = { authorization: `Bearer ${token}` };
    // The variables the REST route builds for ?limit=100 (no filter, no cursor).
    const variables = { boardId: board.id, first: ITEMS, after: null, filter: {} };
    const workloads: Workload[] = [
      { name: "REST  GET /api/v1/boards/{id}/items?limit=100", method: "GET", path: `/api/v1/boards/${board.id}/items?limit=${ITEMS}`, headers: auth },
      {
        name: "GraphQL POST /graphql RestListBoardItems",
        method: "POST",
        path: "/graphql",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ query: operation.query, operationName: operation.name, variables }),
      },
    ];

    // Same data both ways, or the comparison means nothing.
    const [restAnswer, graphqlAnswer] = await Promise.all(
      workloads.map(async (workload) => {
        const response = await fetch(`${gateway.url}${workload.path}`, { method: workload.method, headers: workload.headers, body: workload.body });
        if (response.status !== 200) throw new Error(`${workload.name}: ${response.status} ${await response.text()}`);
        return { text: await response.text() };
      }),
    );
    const restData = (JSON.parse(restAnswer!.text) as { data: unknown[] }).data;
    const graphqlData = (JSON.parse(graphqlAnswer!.text) as { data: { board: { items: { nodes: unknown[] } } } }).data.board.items.nodes;
    if (restData.length !== ITEMS || JSON.stringify(restData) !== JSON.stringify(graphqlData)) throw new Error("REST and GraphQL answers differ");
    console.log(`verified: both return the same ${ITEMS} items (REST body ${restAnswer!.text.length} B, GraphQL body ${graphqlAnswer!.text.length} B)`);
    console.log(`load: autocannon ${CONNECTIONS} connections, warm-up ${WARMUP} s per workload in two alternating halves (discarded), ${ROUNDS} rounds × ${DURATION} s each, order ABBA…`);

    // Warm both paths twice, alternating, so that neither is measured while the other's code is
    // still being optimised (a single warm-up each left the first measured window slower).
    for (const workload of [...workloads, ...workloads]) {
      process.stdout.write(`warm-up ${workload.name}… `);
      await run(gateway.url, workload, WARMUP / 2);
      await sleep(500);
    }
    console.log("done");

    const windows = new Map<string, Window>(workloads.map((workload) => [workload.name, emptyWindow()]));
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate the order each round so that drift in machine load falls on both alike.
      const order = round % 2 === 0 ? workloads : [...workloads].reverse();
      for (const workload of order) {
        const before = { gateway: processCpuMs(gateway.pid), subgraphs: processCpuMs(subgraphs.pid), machine: machineBusyMs() };
        const result = await run(gateway.url, workload, DURATION);
        // Let the requests autocannon abandoned at the end finish before reading CPU.
        await sleep(300);
        const window = windows.get(workload.name) as Window;
        window.requests += result.requests.total;
        window.seconds += result.duration;
        window.non2xx += result.non2xx;
        window.errors += result.errors + result.timeouts;
        window.p50.push(result.latency.p50);
        window.p99.push(result.latency.p99);
        const gatewayCpu = processCpuMs(gateway.pid) - before.gateway;
        window.gatewayCpuMs += gatewayCpu;
        window.gatewayCpuPerRound.push(gatewayCpu / result.requests.total);
        window.subgraphCpuMs += processCpuMs(subgraphs.pid) - before.subgraphs;
        const busy = machineBusyMs() - before.machine;
        window.machineBusyMs += busy;
        console.log(
          `  round ${round + 1} ${workload.name}: ${(result.requests.total / result.duration).toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, gateway ${(gatewayCpu / result.requests.total).toFixed(2)} CPU ms/req, machine ${(busy / (result.duration * 1000)).toFixed(2)} cores busy`,
        );
      }
    }

    const rows = workloads.map((workload) => {
      const window = windows.get(workload.name) as Window;
      return {
        name: workload.name,
        rps: window.requests / window.seconds,
        p50: median(window.p50),
        p99: median(window.p99),
        gatewayCpu: window.gatewayCpuMs / window.requests,
        subgraphCpu: window.subgraphCpuMs / window.requests,
        machineCores: window.machineBusyMs / (window.seconds * 1000),
        failures: window.non2xx + window.errors,
      };
    });
    const [rest, graphql] = rows as [(typeof rows)[number], (typeof rows)[number]];
    console.log("");
    console.log("| path | req/s | p50 ms | p99 ms | gateway CPU ms/req | subgraph process CPU ms/req | machine busy cores | failed |");
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const row of rows) {
      console.log(
        `| ${row.name} | ${row.rps.toFixed(0)} | ${row.p50} | ${row.p99} | ${row.gatewayCpu.toFixed(2)} | ${row.subgraphCpu.toFixed(2)} | ${row.machineCores.toFixed(2)} | ${row.failures} |`,
      );
    }
    const pct = (value: number) => `${value >= 0 ? "+" : ""}${(value * 100).toFixed(1)} %`;
    console.log("");
    console.log(
      `REST overhead vs GraphQL: throughput ${pct(graphql.rps / rest.rps - 1)} (GraphQL req/s over REST req/s), p50 ${pct(rest.p50 / graphql.p50 - 1)}, p99 ${pct(rest.p99 / graphql.p99 - 1)}, gateway CPU/request ${pct(rest.gatewayCpu / graphql.gatewayCpu - 1)} (target ≤ +10 %)`,
    );
    // Windows of the same round ran back to back, under nearly the same machine load: their ratio
    // is the least disturbed by other work; the median over rounds discards the odd one.
    const restRounds = (windows.get(workloads[0]!.name) as Window).gatewayCpuPerRound;
    const graphqlRounds = (windows.get(workloads[1]!.name) as Window).gatewayCpuPerRound;
    const paired = restRounds.map((value, index) => value / (graphqlRounds[index] as number) - 1);
    console.log(`gateway CPU/request, REST over GraphQL round by round: ${paired.map(pct).join(", ")}; median ${pct(median(paired))}`);

    // Latency without the machine's drift: one request at a time, REST and GraphQL alternating
    // request by request, so both see the same moment's load.
    const latencies: number[][] = [[], []];
    for (let index = 0; index < INTERLEAVED; index += 1) {
      const order = index % 2 === 0 ? [0, 1] : [1, 0];
      for (const which of order) {
        const workload = workloads[which] as Workload;
        const started = performance.now();
        const response = await fetch(`${gateway.url}${workload.path}`, { method: workload.method, headers: workload.headers, body: workload.body });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`${workload.name}: ${response.status}`);
        (latencies[which] as number[]).push(performance.now() - started);
      }
    }
    const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] as number;
    console.log("");
    console.log(`interleaved, one request at a time, ${INTERLEAVED} each (REST, GraphQL, GraphQL, REST, …):`);
    console.log("| path | mean ms | p50 ms | p99 ms |");
    console.log("|---|---:|---:|---:|");
    workloads.forEach((workload, which) => {
      const values = latencies[which] as number[];
      console.log(`| ${workload.name} | ${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(2)} | ${percentile(values, 0.5).toFixed(2)} | ${percentile(values, 0.99).toFixed(2)} |`);
    });
    const [restLatency, graphqlLatency] = latencies as [number[], number[]];
    console.log(
      `REST overhead, interleaved: p50 ${pct(percentile(restLatency, 0.5) / percentile(graphqlLatency, 0.5) - 1)}, p99 ${pct(percentile(restLatency, 0.99) / percentile(graphqlLatency, 0.99) - 1)}`,
    );
    if (rest.failures + graphql.failures > 0) process.exitCode = 1;
  } finally {
    for (const child of children.reverse()) await child.stop();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}

await main();
