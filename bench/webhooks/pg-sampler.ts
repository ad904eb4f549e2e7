// A poor man's PostgreSQL profiler for BENCH_PG_SAMPLE=1: polls pg_stat_activity for the
// benchmark database every few ms and counts what its backends are doing (active statement or
// wait), so that "PostgreSQL is busy" can be split by statement without pg_stat_statements (it
// needs a server restart to load).
import pg from "pg";

export interface PgSampler {
  /** Stops sampling; returns "backends on average · state · statement" lines, most frequent first. */
  stop(): Promise<string[]>;
}

const INTERVAL_MS = 5;

/** Shortens a statement to what tells it apart (Prisma's SQL is long and on one line). */
function shape(query: string): string {
  const text = query.replace(/\s+/g, " ").trim();
  if (text.startsWith("WITH due AS")) return "claimDue (WITH due AS … UPDATE … RETURNING)";
  return text.length > 110 ? `${text.slice(0, 110)}…` : text;
}

export async function samplePostgres(url: string, database: string): Promise<PgSampler> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ state: string; wait: string | null; query: string }>(
        `SELECT state, wait_event_type || ':' || wait_event AS wait, query FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        [database],
      );
      samples += 1;
      for (const row of rows) {
        const key = row.state === "active" ? `active${row.wait ? ` (${row.wait})` : ""} · ${shape(row.query)}` : row.state;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      return [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([key, count]) => `${(count / Math.max(1, samples)).toFixed(2).padStart(5)} backends · ${key}`);
    },
  };
}
