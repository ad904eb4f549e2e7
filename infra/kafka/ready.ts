// Readiness helpers for the local single-node Kafka broker (see infra/kafka/README.md).
//
//   node infra/kafka/ready.ts   # waits for $KAFKA_BROKERS (default 127.0.0.1:9092)
//   KAFKA_READY_BROKERS=3 …     # and until the cluster reports 3 live brokers (start.sh's clusters)
//
// Test setup calls ensureKafka(): it starts the broker with infra/kafka/start.sh when
// nothing answers yet, and throws (never skips) when Kafka cannot be reached.
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";

const HERE = dirname(fileURLToPath(import.meta.url));
const START_SCRIPT = join(HERE, "start.sh");

export const DEFAULT_BROKERS: readonly string[] = ["127.0.0.1:9092"];

/** Brokers from $KAFKA_BROKERS (comma separated), else 127.0.0.1:9092. */
export function kafkaBrokers(): string[] {
  const raw = process.env.KAFKA_BROKERS ?? "";
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.length > 0 ? list : [...DEFAULT_BROKERS];
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One probe: ApiVersions handshake + metadata + DescribeCluster (at least `expected` live brokers). */
async function probe(brokers: string[], budgetMs: number, expected: number): Promise<void> {
  const kafka = new Kafka({
    clientId: "sunday-kafka-ready",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.max(250, Math.min(1_000, budgetMs)),
    requestTimeout: Math.max(500, Math.min(5_000, budgetMs)),
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`probe timed out after ${budgetMs} ms`)), budgetMs);
  });
  try {
    await Promise.race([
      (async (): Promise<void> => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length < expected) throw new Error(`cluster reports ${cluster.brokers.length} live broker(s) of ${expected}`);
        await admin.listTopics();
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/** Resolves once a Kafka broker answers on `brokers` (and the cluster has `expected` live brokers); rejects after `timeoutMs`. */
export async function waitForKafka(brokers: string[], timeoutMs: number, expected = 1): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "no attempt made";
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) break;
    try {
      await probe(brokers, Math.min(left, 10_000), expected);
      return;
    } catch (err) {
      last = errorMessage(err);
    }
    const pause = Math.min(500, until - Date.now());
    if (pause > 0) await sleep(pause);
  }
  throw new Error(`Kafka not ready at ${brokers.join(",")} after ${timeoutMs} ms: ${last}`);
}

/**
 * Makes the broker fully usable: loads the group coordinator (creates __consumer_offsets on a
 * fresh broker) and the producer-id path used by idempotent producers. Retries until timeoutMs.
 */
export async function warmUpKafka(brokers: string[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const kafka = new Kafka({
    clientId: "sunday-kafka-warmup",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 2, initialRetryTime: 200 },
  });
  let last = "no attempt made";
  for (;;) {
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await admin.connect();
      // FindCoordinator + DescribeGroups; kafkajs throws on COORDINATOR_LOAD_IN_PROGRESS etc.
      const { groups } = await admin.describeGroups(["sunday-kafka-warmup"]);
      if (groups.length !== 1) throw new Error("group coordinator did not answer");
      await producer.connect(); // InitProducerId
      return;
    } catch (err) {
      last = errorMessage(err);
    } finally {
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() + 500 >= until) break;
    await sleep(500);
  }
  throw new Error(`Kafka at ${brokers.join(",")} not usable after ${timeoutMs} ms: ${last}`);
}

function runStartScript(): Promise<void> {
  return new Promise((res, reject) => {
    const child = spawn("bash", [START_SCRIPT], { stdio: "inherit", env: process.env });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) res();
      else reject(new Error(`${START_SCRIPT} failed (exit code ${code ?? "none"}, signal ${signal ?? "none"})`));
    });
  });
}

/** Makes sure a broker is up: starts infra/kafka/start.sh if nothing answers. Throws on failure. */
export async function ensureKafka(): Promise<void> {
  const brokers = kafkaBrokers();
  let unreachable = "";
  try {
    await waitForKafka(brokers, 2_000);
    return;
  } catch (err) {
    unreachable = errorMessage(err);
  }
  // start.sh only starts a broker at 127.0.0.1:$KAFKA_PORT: waiting 30 s for one elsewhere would only delay the failure.
  const local = `127.0.0.1:${process.env.KAFKA_PORT ?? "9092"}`;
  if (brokers.length !== 1 || (brokers[0] !== local && brokers[0] !== local.replace("127.0.0.1", "localhost"))) {
    throw new Error(`${unreachable}; infra/kafka/start.sh starts a broker at ${local} only, not at ${brokers.join(",")}`);
  }
  try {
    await runStartScript();
    await waitForKafka(brokers, 30_000);
    await warmUpKafka(brokers, 30_000);
  } catch (err) {
    throw new Error(`Kafka could not be started for ${brokers.join(",")}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (isMain) {
  // --warm: also load the group coordinator / producer ids (used by start.sh).
  const warm = process.argv.includes("--warm");
  const brokers = kafkaBrokers();
  const raw = Number(process.env.KAFKA_READY_TIMEOUT_MS ?? "120000");
  const timeoutMs = Number.isFinite(raw) && raw > 0 ? raw : 120_000;
  const expected = Number(process.env.KAFKA_READY_BROKERS ?? "1");
  const started = Date.now();
  const run = async (): Promise<void> => {
    await waitForKafka(brokers, timeoutMs, Number.isInteger(expected) && expected > 0 ? expected : 1);
    if (warm) await warmUpKafka(brokers, Math.max(5_000, timeoutMs - (Date.now() - started)));
  };
  run().then(
    () => {
      console.log(`Kafka ready at ${brokers.join(",")} (${Date.now() - started} ms)`);
    },
    (err: unknown) => {
      console.error(errorMessage(err));
      process.exitCode = 1;
    },
  );
}
