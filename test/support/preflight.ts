// What the suites need from the machine, checked before a suite starts: real PostgreSQL, Redis
// and Kafka (no mocks), the redis-server binary for tests that start their own, and promtool for the
// alert rules (test/observability-assets.test.ts). A missing one
// must fail the run within seconds, saying which service and how to start it; without this check a
// reconnecting client (ioredis retries for ever) kept the suite waiting instead.
import { spawnSync } from "node:child_process";
import pg from "pg";
import { Redis } from "ioredis";
import { ensureKafka, kafkaBrokers } from "../../infra/kafka/ready.ts";
import { testConfig } from "../../platform/config.ts";

/** Where tests create their throw-away databases: the machine's real Postgres (TEST_DATABASE_URL). */
export const ADMIN_DATABASE_URL = testConfig().adminDatabaseUrl;
/** The machine's Redis (TEST_REDIS_URL); every test keeps its keys under a prefix of its own. */
export const TEST_REDIS_URL = testConfig().redisUrl;

export type Service = "postgres" | "redis" | "kafka" | "redis-server" | "promtool";

/** How long a service may take to answer before the run stops. */
const CONNECT_TIMEOUT_MS = 3_000;

/** A service the suite needs is not there: the message names it and says how to start it. */
export class MissingServiceError extends Error {
  override name = "MissingServiceError";
}

const withoutPassword = (url: string) => {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
};

const checks: Record<Service, () => Promise<void>> = {
  async postgres() {
    const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // A connection that fails after connect() reports here, not as an uncaught error.
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("SELECT 1");
    } catch (error) {
      throw new MissingServiceError(
        `PostgreSQL is not reachable at ${withoutPassword(ADMIN_DATABASE_URL)} (${message(error)}). ` +
          "The tests need a PostgreSQL server whose user may CREATE DATABASE: start one on 127.0.0.1:5432 " +
          "(e.g. `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`), or set TEST_DATABASE_URL.",
      );
    } finally {
      await client.end().catch(() => undefined);
    }
  },
  async redis() {
    const redis = new Redis(TEST_REDIS_URL, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    // The socket's own error (ECONNREFUSED…) says more than the "Connection is closed" connect() rejects with.
    let cause: unknown;
    redis.on("error", (error: unknown) => (cause ??= error));
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      throw new MissingServiceError(
        `Redis is not reachable at ${withoutPassword(TEST_REDIS_URL)} (${message(cause ?? error)}). ` +
          "Start one on 127.0.0.1:6379 (`redis-server --daemonize yes`, or `docker run -d -p 6379:6379 redis:7`), or set TEST_REDIS_URL.",
      );
    } finally {
      redis.disconnect();
    }
  },
  async kafka() {
    try {
      // Starts the local broker (infra/kafka/start.sh) when nothing answers at the default address.
      await ensureKafka();
    } catch (error) {
      throw new MissingServiceError(
        `Kafka is not reachable at ${kafkaBrokers().join(",")} (${message(error)}). ` +
          "Start it with `npm run kafka:start` (needs Java 17+ and Maven; `npm test` starts and stops it itself), or set KAFKA_BROKERS to a running broker.",
      );
    }
  },
  async "redis-server"() {
    const found = spawnSync("redis-server", ["--version"], { stdio: "ignore", timeout: CONNECT_TIMEOUT_MS });
    if (found.error || found.status !== 0) {
      throw new MissingServiceError(
        "The redis-server binary is not on PATH: the fault tests start Redis servers of their own. " + "Install it (`apt-get install redis-server`, `brew install redis`).",
      );
    }
  },
  async promtool() {
    const found = spawnSync("promtool", ["--version"], { stdio: "ignore", timeout: CONNECT_TIMEOUT_MS });
    if (found.error || found.status !== 0) {
      throw new MissingServiceError(
        "The promtool binary is not on PATH: the alert and SLO rules (infra/observability/prometheus) are checked with it. " +
          "Install Debian's `prometheus` package (`apt-get install -y --no-install-recommends prometheus`; .ci/run does), or Prometheus' own release.",
      );
    }
  },
};

const passed = new Map<Service, Promise<void>>();

/** Checks each service once per process; rejects with a MissingServiceError naming the first one missing. */
export async function preflight(...services: Service[]): Promise<void> {
  for (const service of services) {
    let check = passed.get(service);
    if (!check) {
      check = checks[service]();
      passed.set(service, check);
      // A failed check is tried again by the next caller (the service may have been started since).
      check.catch(() => passed.delete(service));
    }
    await check;
  }
}

function message(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(message).join("; ");
  return error instanceof Error ? error.message || error.name : String(error);
}
