// Kafka of a test's own, one broker or a KRaft cluster (KAFKA_NODES), started and stopped through
// infra/kafka/start.sh and stop.sh on free ports with a data dir of the test's own, so nodes can
// be killed without touching the machine's shared broker (9092). Extra start.sh settings (a
// SASL_SSL listener, SCRAM users) go in `env`.
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "./free-port.ts";
import { waitFor } from "./wait.ts";

const KAFKA_DIR = fileURLToPath(new URL("../../infra/kafka/", import.meta.url));

export interface KafkaNodesOptions {
  /** start.sh's KAFKA_DATA_DIR: a directory of the test's own. */
  readonly dataDir: string;
  /** Client ports, one per node. */
  readonly ports: readonly number[];
  /** KRaft controller ports, one per node. */
  readonly controllerPorts: readonly number[];
  /** More start.sh variables (KAFKA_EXTRA_PROPERTIES, KAFKA_SCRAM_CREDENTIALS, KAFKA_MIN_INSYNC_REPLICAS…). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What kafka-metadata-quorum describe --status says. */
export interface QuorumStatus {
  /** The active controller's node id. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly voters: readonly number[];
}

export class KafkaNodes {
  readonly options: KafkaNodesOptions;

  constructor(options: KafkaNodesOptions) {
    if (options.ports.length !== options.controllerPorts.length || options.ports.length === 0) throw new Error("one client and one controller port per node");
    this.options = options;
  }

  /** `nodes` nodes (not started yet) on ports free right now. */
  static async onFreePorts(dataDir: string, nodes: number, env: Readonly<Record<string, string>> = {}): Promise<KafkaNodes> {
    const ports: number[] = [];
    const controllerPorts: number[] = [];
    for (let i = 0; i < nodes; i++) {
      ports.push(await freePort());
      controllerPorts.push(await freePort());
    }
    return new KafkaNodes({ dataDir, ports, controllerPorts, env });
  }

  get size(): number {
    return this.options.ports.length;
  }

  /** Node ids, 1-based as in node.id. */
  get ids(): number[] {
    return this.options.ports.map((_, i) => i + 1);
  }

  /** Every node's PLAINTEXT address. */
  get brokers(): string[] {
    return this.options.ports.map((port) => `127.0.0.1:${port}`);
  }

  /** The PLAINTEXT address of node `id`. */
  broker(id: number): string {
    return `127.0.0.1:${this.options.ports[id - 1]}`;
  }

  /** Where node `id` keeps its log (the broker's own, with timestamps). */
  logFile(id: number): string {
    return this.size === 1 ? join(this.options.dataDir, "kafka.log") : join(this.options.dataDir, `node-${id}`, "kafka.log");
  }

  /** Node `id`'s pid from start.sh's pid file, if it has one. */
  pid(id: number): number | null {
    const file = this.size === 1 ? join(this.options.dataDir, "kafka.pid") : join(this.options.dataDir, `node-${id}`, "kafka.pid");
    try {
      const pid = Number(readFileSync(file, "utf8").trim());
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  /** start.sh: starts every node that is not running and waits until all are ready; resolves with what it printed. */
  start(): Promise<string> {
    return this.script("start.sh");
  }

  /** stop.sh: a controlled shutdown of every node. */
  async stop(): Promise<void> {
    await this.script("stop.sh");
  }

  /** A crash of node `id`: SIGKILL, no controlled shutdown. Resolves once the process is gone. */
  async kill(id: number): Promise<number> {
    const pid = this.pid(id);
    if (!pid) throw new Error(`node ${id} is not running`);
    process.kill(pid, "SIGKILL");
    await waitFor(
      `node ${id} (pid ${pid}) to die`,
      () => !alive(pid),
      () => "",
      10_000,
    );
    return pid;
  }

  /** Last resort in a process "exit" listener (synchronous): SIGKILL every node still running. */
  killNow(): void {
    for (const id of this.ids) {
      const pid = this.pid(id);
      if (pid) process.kill(pid, "SIGKILL");
    }
  }

  /** The controller quorum, asked through the brokers `via` (default: every node) with kafka-metadata-quorum. */
  async quorum(via: readonly string[] = this.brokers): Promise<QuorumStatus> {
    const { stdout } = await promisify(execFile)("bash", [join(KAFKA_DIR, "quorum.sh"), "--bootstrap-server", via.join(","), "describe", "--status"], { timeout: 30_000 });
    const field = (name: string) => /^(\S+):\s*(.*)$/m.exec(stdout.split("\n").find((line) => line.startsWith(`${name}:`)) ?? "")?.[2] ?? "";
    const voters = [...field("CurrentVoters").matchAll(/"id":\s*(\d+)/g)].map((match) => Number(match[1]));
    const leaderId = Number(field("LeaderId"));
    if (!Number.isInteger(leaderId) || leaderId < 0) throw new Error(`no quorum leader in: ${stdout}`);
    return { leaderId, leaderEpoch: Number(field("LeaderEpoch")), voters };
  }

  private script(name: "start.sh" | "stop.sh"): Promise<string> {
    const env = {
      ...process.env,
      ...this.options.env,
      KAFKA_DATA_DIR: this.options.dataDir,
      KAFKA_NODES: String(this.size),
      KAFKA_PORT: String(this.options.ports[0]),
      KAFKA_CONTROLLER_PORT: String(this.options.controllerPorts[0]),
      KAFKA_PORTS: this.options.ports.join(","),
      KAFKA_CONTROLLER_PORTS: this.options.controllerPorts.join(","),
    };
    return new Promise((resolve, reject) => {
      const child = spawn("bash", [join(KAFKA_DIR, name)], { env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-8_000);
      });
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve(stderr) : reject(new Error(`infra/kafka/${name} exited with ${code}:\n${stderr}`))));
    });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
