// What the soak reads from outside the processes: memory from /proc (VmRSS), CPU from /proc per
// process and for the machine, the Kafka consumer groups' lag, and the outbox's backlog.
import type { Kafka } from "kafkajs";
import pg from "pg";
import { topicsOf } from "../../events/kafka.ts";
import { cpuOf, databaseBackends, machineBusyMs, memoryMb } from "../subscriptions/lib.ts";

/** A process the soak watches: a name for the report and how to find its pid now (null: not running). */
export interface Watched {
  readonly name: string;
  pid(): number | null;
}

export interface RssSample {
  /** Seconds since the soak's load started. */
  readonly t: number;
  readonly phase: string;
  /** MB by process name (absent: not running then). */
  readonly rss: Record<string, number>;
  /** PostgreSQL backends serving the soak's database. */
  readonly backends: number;
}

/** Samples VmRSS of every watched process every `everyMs`, and the database's backend count. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  phase = "setup";

  private readonly watched: () => readonly Watched[];
  private readonly database: string;
  private readonly t0: () => number;

  constructor(watched: () => readonly Watched[], database: string, t0: () => number) {
    this.watched = watched;
    this.database = database;
    this.t0 = t0;
  }

  sample(): RssSample {
    const rss: Record<string, number> = {};
    for (const part of this.watched()) {
      const pid = part.pid();
      if (pid === null) continue;
      try {
        rss[part.name] = memoryMb(pid).rss;
      } catch {
        // exited meanwhile
      }
    }
    const sample = { t: (performance.now() - this.t0()) / 1000, phase: this.phase, rss, backends: databaseBackends(this.database).length };
    this.samples.push(sample);
    return sample;
  }

  start(everyMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** CPU ms of each watched process, the database's backends and the machine, at one moment. */
export interface CpuSnapshot {
  readonly at: number;
  readonly byName: Record<string, number>;
  /** CPU ms by backend pid: a backend's share counts from its own start (a pool opens and closes them). */
  readonly postgres: Record<number, number>;
  readonly machine: number;
}

export function cpuSnapshot(watched: readonly Watched[], database: string): CpuSnapshot {
  const byName: Record<string, number> = {};
  for (const part of watched) {
    const pid = part.pid();
    if (pid !== null) byName[part.name] = cpuOf([pid]);
  }
  byName.soak = (process.cpuUsage().user + process.cpuUsage().system) / 1000;
  const postgres: Record<number, number> = {};
  for (const pid of databaseBackends(database)) postgres[pid] = cpuOf([pid]);
  return { at: performance.now(), byName, postgres, machine: machineBusyMs() };
}

/** Cores used between two snapshots, by process name, plus "postgres", "machine" and "other" (the machine minus all of ours). */
export function coresBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const ms = after.at - before.at;
  const cores: Record<string, number> = {};
  let ours = 0;
  for (const [name, value] of Object.entries(after.byName)) {
    const used = value - (before.byName[name] ?? value);
    cores[name] = used / ms;
    ours += used;
  }
  // Backends that ended within the window take their share with them (into "other").
  let postgres = 0;
  for (const [pid, value] of Object.entries(after.postgres)) postgres += value - (before.postgres[Number(pid)] ?? 0);
  cores.postgres = postgres / ms;
  ours += postgres;
  cores.machine = (after.machine - before.machine) / ms;
  cores.other = Math.max(0, after.machine - before.machine - ours) / ms;
  return cores;
}

export interface GroupLag {
  readonly groupId: string;
  /** Messages not yet consumed (committed), over every domain topic and partition. */
  readonly lag: number;
  /** Messages on the topics (high watermarks), for scale. */
  readonly produced: number;
}

/** Each group's lag: the topics' high watermarks minus its committed offsets (nothing committed yet: from the low watermark). */
export async function consumerLag(kafka: Kafka, groupIds: readonly string[]): Promise<GroupLag[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = [...topicsOf("").domain];
    const ends = new Map<string, { high: number; low: number }>();
    for (const topic of topics) {
      for (const partition of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${partition.partition}`, { high: Number(partition.high), low: Number(partition.low) });
    }
    const produced = [...ends.values()].reduce((sum, end) => sum + end.high - end.low, 0);
    const lags: GroupLag[] = [];
    for (const groupId of groupIds) {
      let lag = 0;
      for (const topic of await admin.fetchOffsets({ groupId, topics })) {
        for (const partition of topic.partitions) {
          const end = ends.get(`${topic.topic}/${partition.partition}`);
          if (!end) continue;
          const committed = Number(partition.offset);
          lag += end.high - (committed >= 0 ? committed : end.low);
        }
      }
      lags.push({ groupId, lag, produced });
    }
    return lags;
  } finally {
    await admin.disconnect();
  }
}

export interface OutboxBacklog {
  readonly unpublished: number;
  /** Age (s) of the oldest unpublished row; null when there is none. */
  readonly oldestAgeS: number | null;
  readonly total: number;
}

export async function outboxBacklog(databaseUrl: string): Promise<OutboxBacklog> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ unpublished: string; oldest: number | null; total: string }>(
      `SELECT count(*) FILTER (WHERE "publishedAt" IS NULL) AS unpublished,
              extract(epoch FROM now() - min("createdAt") FILTER (WHERE "publishedAt" IS NULL))::float8 AS oldest,
              count(*) AS total
         FROM events."OutboxEvent"`,
    );
    const row = rows[0];
    return { unpublished: Number(row?.unpublished ?? 0), oldestAgeS: row?.oldest ?? null, total: Number(row?.total ?? 0) };
  } finally {
    await client.end();
  }
}
