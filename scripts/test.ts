// `npm test [-- test/some.test.ts …]`: checks the services the suites need (failing in seconds,
// naming what is missing), type-checks, starts the local Kafka broker only if none answers, runs
// the suites, and stops the broker again if it started it, so a run leaves the machine as it was
// (CI starts Kafka itself beforehand: then it is left running). Exits with the tests' code.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitForKafka } from "../infra/kafka/ready.ts";
import { testConfig } from "../platform/config.ts";
import { MissingServiceError, preflight } from "../test/support/preflight.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
// TEST_CONCURRENCY, KAFKA_DATA_DIR, KAFKA_BROKERS: a wrong value stops the run here, naming it.
const config = testConfig();

/** Runs a command in the repository root with this terminal; resolves with its exit code. */
function run(command: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: "inherit" });
    running.add(child);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? (signal ? 128 + 2 : 1));
    });
  });
}
const running = new Set<ReturnType<typeof spawn>>();

/** The pid of the broker infra/kafka/start.sh started last (its pid file), if any. */
function brokerPid(): string | undefined {
  try {
    return readFileSync(`${config.kafkaDataDir}/kafka.pid`, "utf8").trim();
  } catch {
    return undefined;
  }
}
/** The broker's pid before this run: a pid file that names another one afterwards is this run's broker. */
let pidBefore: string | undefined;
let kafkaStarting = false;
async function stopKafka(): Promise<void> {
  if (!kafkaStarting) return;
  kafkaStarting = false;
  const pid = brokerPid();
  // Only a broker this run started is stopped (a busy broker that answered the probe late is not ours).
  if (pid === undefined || pid === pidBefore) return;
  console.log(`--- stopping the Kafka broker this run started (pid ${pid})`);
  await run("bash", ["infra/kafka/stop.sh"]);
}

// Ctrl-C reaches the test runner too (same process group); the broker is stopped once it has ended.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const child of running) child.kill(signal);
    void stopKafka().finally(() => process.exit(130));
  });
}

/** A package's executable, through its package.json "bin" (TypeScript 7 exports no `typescript/bin/tsc` subpath). */
function binOf(pkg: string, name: string): string {
  const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  const bin = (JSON.parse(readFileSync(manifest, "utf8")) as { bin: string | Record<string, string> }).bin;
  return join(dirname(manifest), typeof bin === "string" ? bin : (bin[name] ?? name));
}

async function main(): Promise<number> {
  const files = process.argv.slice(2);
  const suites =
    files.length > 0
      ? files
      : readdirSync(new URL("../test/", import.meta.url))
          .filter((name) => name.endsWith(".test.ts"))
          .sort()
          .map((name) => `test/${name}`);

  await preflight("postgres", "redis", "redis-server", "promtool");
  const brokers = config.kafkaBrokers;
  const kafkaUp = await waitForKafka(brokers, 2_000).then(
    () => true,
    () => false,
  );
  if (!kafkaUp) {
    console.log(`--- no Kafka broker at ${brokers.join(",")}: starting one for this run (infra/kafka/start.sh)`);
    pidBefore = brokerPid();
    kafkaStarting = true;
  }
  const kafkaReady = kafkaUp ? Promise.resolve() : preflight("kafka");
  // Type-check and lint (Biome: formatting and lint rules, zero findings) while the broker boots;
  // all must be done before any suite runs.
  const [typecheck, lint] = await Promise.all([
    run(process.execPath, [binOf("typescript", "tsc"), "--noEmit", "-p", "tsconfig.json"]),
    run(process.execPath, [binOf("@biomejs/biome", "biome"), "check", "."]),
    kafkaReady,
  ]);
  if (typecheck !== 0) {
    console.error("--- type check failed");
    return typecheck;
  }
  if (lint !== 0) {
    console.error("--- lint failed (`npx biome check --write .` fixes formatting and safe findings)");
    return lint;
  }
  return run(process.execPath, ["--test", `--test-concurrency=${config.concurrency}`, ...suites]);
}

let code: number;
try {
  code = await main();
} catch (error) {
  console.error(error instanceof MissingServiceError ? `--- ${error.message}` : error);
  code = 1;
  for (const child of running) child.kill();
}
await stopKafka();
process.exit(code);
