// Runs the long Kafka failover scenario (failover.test.ts: the busiest partition's leader SIGKILLed
// and started again, then the active controller SIGKILLed) `--rounds` times, each on a fresh
// three-node cluster, and prints the figures of every round and their medians:
//
//   node bench/kafka-failover/run.ts [--rounds 3]
//
// Needs what the tests need (PostgreSQL, Redis, Java 17, Maven for the first jar fetch).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: expected a whole number, got ${values.rounds}`);
const scenario = fileURLToPath(new URL("./failover.test.ts", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

/** The figures a round printed: name -> ms. */
type Figures = Map<string, number>;

const PATTERNS: readonly [string, RegExp][] = [
  ["leader kill: new partition leaders", /partition leader kill: .*?every partition it led has a new leader (\d+) ms/],
  ["leader kill: first event at subscribers", /partition leader kill: .*?first rename written after the kill at both subscribers (\d+) ms/],
  ["leader kill: first event at webhook receiver", /partition leader kill: .*?at the webhook receiver (\d+) ms/],
  ["leader kill: node started again (start.sh)", /started again in (\d+) ms/],
  ["controller kill: new controller (log)", /controller kill: .*?new controller (\d+) ms \(its log\)/],
  ["controller kill: new controller (kafka-metadata-quorum)", /controller kill: .*?, (\d+) ms \(kafka-metadata-quorum answered\)/],
  ["controller kill: new partition leaders", /controller kill: .*?every partition it led has a new leader (\d+) ms/],
  ["controller kill: first event at subscribers", /controller kill: .*?first rename written after the kill at both subscribers (\d+) ms/],
  ["controller kill: first event at webhook receiver", /controller kill: .*?at the webhook receiver (\d+) ms/],
];

function runRound(round: number): Promise<{ figures: Figures; ok: boolean; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--test", "--test-reporter=spec", scenario], { cwd: root, env: { ...process.env, LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.stderr.resume();
    child.once("error", reject);
    child.once("exit", (code) => {
      const lines = out.split("\n").filter((line) => line.includes("[kafka-cluster]") && !line.includes("[kafka] "));
      const figures: Figures = new Map();
      for (const line of new Set(lines)) {
        for (const [name, pattern] of PATTERNS) {
          const match = pattern.exec(line);
          if (match?.[1] && !figures.has(name)) figures.set(name, Number(match[1]));
        }
      }
      console.log(`round ${round}: ${code === 0 ? "passed (0 lost, 0 duplicated)" : `FAILED (exit ${code})`}`);
      resolve({ figures, ok: code === 0, lines: [...new Set(lines)] });
    });
  });
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

const results = [];
for (let round = 1; round <= rounds; round++) results.push(await runRound(round));
console.log(`\nKafka failover on a 3-node KRaft cluster (broker session 4 s), ms from the SIGKILL, ${rounds} round(s):`);
console.log(`${"figure".padEnd(58)} ${results.map((_, i) => `r${i + 1}`.padStart(7)).join(" ")} ${"median".padStart(7)}`);
for (const [name] of PATTERNS) {
  const values = results.map((result) => result.figures.get(name));
  const known = values.filter((value): value is number => value !== undefined);
  console.log(`${name.padEnd(58)} ${values.map((value) => String(value ?? "-").padStart(7)).join(" ")} ${String(known.length > 0 ? median(known) : "-").padStart(7)}`);
}
const failed = results.filter((result) => !result.ok).length;
if (failed > 0) {
  console.log(`\n${failed} round(s) failed; their lines:`);
  for (const result of results.filter((r) => !r.ok)) for (const line of result.lines) console.log(line);
  process.exitCode = 1;
}
