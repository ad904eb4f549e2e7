// What bench/search/run.ts and bench/history/run.ts share: the read models caught up before the
// stack starts (so the items subgraph's live runner has nothing to replay while we measure), the
// whole stack in this process (scripts/stack.ts, as tests and `npm start` wire it), and timed
// GraphQL requests over kept-alive sockets.
import http from "node:http";
import pg from "pg";
import { mintToken } from "../../gateway/src/auth/jwt.ts";
import { rebuildProjection, startProjections, type RebuildProgress } from "../../events/store/runner.ts";
import type { Projection } from "../../events/store/projection.ts";
import { createLogger } from "../../platform/logger.ts";
import { eventStoreConfig } from "../../platform/config.ts";
import type { Role } from "../../platform/identity.ts";
import { startStack, type RunningStack } from "../../scripts/stack.ts";
import { itemSnapshots } from "../../subgraphs/items/src/history/item-fold.ts";
import { searchProjection } from "../../subgraphs/items/src/search/projection.ts";
import { BENCH_JWT, BENCH_SIGNING_SECRET, fmt, now, postGraphQL } from "../subscriptions/lib.ts";

// Quiet unless asked: the stack logs every request at info.
process.env.LOG_LEVEL ??= "warn";
export const logger = createLogger("bench");

/**
 * The items subgraph's read models (subgraphs/items/src/projections.ts runs the same two in its
 * process): search, and item snapshots every SNAPSHOT_EVERY versions.
 */
export function benchProjections(): Projection[] {
  return [searchProjection, itemSnapshots(eventStoreConfig().snapshotEvery)];
}

export interface Rebuilt {
  readonly projection: string;
  readonly events: number;
  readonly seconds: number;
  readonly resumed: boolean;
}

/**
 * Rebuilds `projection` from the start of the log (a new generation swapped in, as
 * `npm run projections:rebuild -- <name>` does), printing progress every `everyMs`.
 */
export async function rebuild(databaseUrl: string, projection: Projection, log: (line: string) => void, everyMs = 15_000): Promise<Rebuilt> {
  const started = now();
  let printed = started;
  const result = await rebuildProjection({
    databaseUrl,
    projection,
    logger,
    onProgress: (progress: RebuildProgress) => {
      if (now() - printed < everyMs) return;
      printed = now();
      const eta = progress.eventsPerSecond > 0 ? progress.remaining / progress.eventsPerSecond : NaN;
      log(`  ${progress.projection} g${progress.generation}: ${progress.applied.toLocaleString("en")} applied, ${fmt(progress.eventsPerSecond, 0)} events/s, ETA ${fmt(eta, 0)} s`);
    },
  });
  return { projection: projection.name, events: result.applied, seconds: (now() - started) / 1000, resumed: result.resumed };
}

/** The live generation's applied count of each projection (absent: none live). */
export async function liveProjections(databaseUrl: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; applied: string }>(`SELECT "name", "applied" FROM eventstore."Projection" WHERE "status" = 'live'`);
    return new Map(rows.map((row) => [row.name, Number(row.applied)]));
  } finally {
    await client.end();
  }
}

/** Live projections with events after their checkpoint, readable yet or not (held back by a running transaction). */
async function behind(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT p."name" FROM eventstore."Projection" p WHERE p."status" = 'live'
          AND EXISTS (SELECT 1 FROM eventstore."Event" e WHERE (e."transactionId", e."sequence") > (p."transactionId", p."sequence"))`,
    );
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

/**
 * Follows the log with every projection until none has an event left after its checkpoint. The
 * runner (and a rebuild) reads only below the oldest transaction running anywhere on the server,
 * so a long transaction in another database holds them back: a rebuild can swap in having read
 * nothing of what was committed meanwhile. Returns the seconds it took and what it waited for.
 */
export async function followUntilCaughtUp(databaseUrl: string, timeoutMs = 15 * 60_000): Promise<{ seconds: number; heldBack: string[] }> {
  const started = now();
  const runner = await startProjections({ databaseUrl, projections: benchProjections(), logger, pollIntervalMs: 100 });
  const heldBack = new Set<string>();
  try {
    for (;;) {
      await runner.settled();
      const left = await behind(databaseUrl);
      if (left.length === 0) return { seconds: (now() - started) / 1000, heldBack: [...heldBack] };
      for (const name of left) heldBack.add(name);
      if (now() - started > timeoutMs) throw new Error(`projections ${left.join(", ")} still behind the log after ${timeoutMs / 1000} s (a transaction running somewhere?)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await runner.dispose();
  }
}

/**
 * Every projection of the items subgraph live and caught up with the log: those without a live
 * generation rebuilt (timed), then all followed to the end of the log.
 */
export async function catchUpProjections(databaseUrl: string, log: (line: string) => void): Promise<Rebuilt[]> {
  const live = await liveProjections(databaseUrl);
  const rebuilt: Rebuilt[] = [];
  for (const projection of benchProjections()) {
    if (live.has(projection.name)) continue;
    log(`${projection.name}: no live generation; rebuilding it from the log`);
    const result = await rebuild(databaseUrl, projection, log);
    log(`${projection.name}: ${result.events.toLocaleString("en")} events in ${fmt(result.seconds)} s`);
    rebuilt.push(result);
  }
  const followed = await followUntilCaughtUp(databaseUrl);
  if (followed.heldBack.length > 0) log(`${followed.heldBack.join(", ")}: held back by a transaction elsewhere on the server; caught up after ${fmt(followed.seconds)} s`);
  return rebuilt;
}

export interface BenchStack {
  readonly stack: RunningStack;
  readonly url: string;
  /** A token for that person (as the gateway's JWT check wants it). */
  token(identity: { userId: string; organizationId: string; role: Role }): Promise<string>;
  /** One GraphQL request, timed from sending to the last byte of the answer. */
  query<T>(token: string, query: string, variables?: Record<string, unknown>): Promise<Answer<T>>;
  dispose(): Promise<void>;
}

export interface Answer<T> {
  readonly ms: number;
  readonly status: number;
  readonly data: T | null;
  readonly errors: readonly { message: string; extensions?: { code?: string } }[];
}

/** The four subgraphs and the gateway in this process, no rate limit, `poolMax` connections per subgraph. */
export async function startBenchStack(databaseUrl: string, poolMax = 10): Promise<BenchStack> {
  const stack = await startStack({ databaseUrl, signingSecret: BENCH_SIGNING_SECRET, jwt: BENCH_JWT, rateLimit: false, poolMax, logger });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = stack.gateway.url;
  return {
    stack,
    url,
    token: (identity) => mintToken(identity, BENCH_JWT),
    async query<T>(token: string, query: string, variables: Record<string, unknown> = {}) {
      const started = now();
      const answer = await postGraphQL(agent, url, token, JSON.stringify({ query, variables }));
      const ms = now() - started;
      const body = JSON.parse(answer.text) as { data?: T | null; errors?: Answer<T>["errors"] };
      return { ms, status: answer.status, data: body.data ?? null, errors: body.errors ?? [] };
    },
    async dispose() {
      agent.destroy();
      await stack.dispose();
    },
  };
}

/** Throws with the answer's errors unless it has data and none. */
export function dataOf<T>(answer: Answer<T>, what: string): T {
  if (answer.errors.length > 0 || answer.data === null) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.errors)}`);
  return answer.data;
}
