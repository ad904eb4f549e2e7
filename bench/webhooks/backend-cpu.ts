// CPU of the PostgreSQL backends serving the benchmark database, summed over a run although the
// pool opens and closes connections meanwhile (node-postgres drops idle ones after 10 s): each
// backend is sampled every half second, so one that exits loses at most its last half second, and
// one that starts during the run counts from zero.
import { databaseBackends, processCpuMs } from "../subscriptions/lib.ts";

const INTERVAL_MS = 500;

export class BackendCpu {
  private readonly last = new Map<number, number>();
  private total = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly database: string;

  constructor(database: string) {
    this.database = database;
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), INTERVAL_MS).unref();
  }

  private sample(initial: boolean): void {
    const seen = new Set<number>();
    for (const pid of databaseBackends(this.database)) {
      let cpu: number;
      try {
        cpu = processCpuMs(pid);
      } catch {
        continue; // exited meanwhile
      }
      seen.add(pid);
      const before = this.last.get(pid);
      if (!initial) this.total += cpu - (before ?? 0);
      this.last.set(pid, cpu);
    }
    for (const pid of this.last.keys()) if (!seen.has(pid)) this.last.delete(pid);
  }

  /** ms of CPU used by the database's backends since this tracker started. */
  ms(): number {
    this.sample(false);
    return this.total;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
