// A Kafka broker of a test's own, to stop, kill and restart: infra/kafka/start.sh and stop.sh run
// with this broker's ports and data dir, so the machine's shared broker (9092) is never touched.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../free-port.ts";
import { waitFor } from "../wait.ts";

const KAFKA_DIR = fileURLToPath(new URL("../../../infra/kafka/", import.meta.url));

export interface KafkaBrokerOptions {
  /** The client port (start.sh's KAFKA_PORT). */
  readonly port: number;
  /** The KRaft controller port (start.sh's KAFKA_CONTROLLER_PORT). */
  readonly controllerPort: number;
  /** Data, config, log and pid file (start.sh's KAFKA_DATA_DIR); a directory of the test's own. */
  readonly dataDir: string;
}

export class KafkaBroker {
  /** Whether the broker was started and not stopped or killed since (by this object). */
  running = false;
  private readonly env: { KAFKA_PORT: string; KAFKA_CONTROLLER_PORT: string; KAFKA_DATA_DIR: string };

  constructor(options: KafkaBrokerOptions) {
    this.env = { KAFKA_PORT: String(options.port), KAFKA_CONTROLLER_PORT: String(options.controllerPort), KAFKA_DATA_DIR: options.dataDir };
  }

  /** A broker (not started yet) on two ports free right now. */
  static async onFreePorts(dataDir: string): Promise<KafkaBroker> {
    return new KafkaBroker({ port: await freePort(), controllerPort: await freePort(), dataDir });
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.env.KAFKA_PORT}`];
  }

  /** The broker's pid from start.sh's pid file. */
  pid(): number | null {
    try {
      const pid = Number(readFileSync(join(this.env.KAFKA_DATA_DIR, "kafka.pid"), "utf8").trim());
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** Resolves once start.sh says the broker is ready (a cold start takes ~15 s). */
  async start(): Promise<void> {
    await this.script("start.sh");
    this.running = true;
  }

  /** A controlled shutdown (stop.sh). */
  async stop(): Promise<void> {
    await this.script("stop.sh");
    this.running = false;
  }

  /** A crash: SIGKILL, no controlled shutdown (start.sh then recovers the logs). */
  async kill(): Promise<void> {
    const pid = this.pid();
    if (!pid) throw new Error("no broker pid");
    process.kill(pid, "SIGKILL");
    await waitFor(`broker pid ${pid} to die`, () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    this.running = false;
  }

  /**
   * Last resort when the test process exits without its after() hook (the broker would outlive
   * it): synchronous, so it can run in a process "exit" listener.
   */
  killNow(): void {
    const pid = this.running ? this.pid() : null;
    if (!pid) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }

  /** Stops the broker (stop.sh does nothing when it is not running). */
  dispose(): Promise<void> {
    return this.stop();
  }

  private script(name: "start.sh" | "stop.sh"): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn("bash", [join(KAFKA_DIR, name)], { env: { ...process.env, ...this.env }, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-8_000);
      });
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`infra/kafka/${name} exited with ${code}:\n${stderr}`))));
    });
  }
}
