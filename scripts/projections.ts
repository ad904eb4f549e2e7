// `npm run projections:rebuild -- <name>`: rebuilds a read model from the start of the event log
// into a new generation while the live one keeps serving, then swaps it in (events/store/runner.ts),
// with a progress bar and an ETA. Stopped midway, the next run resumes where it stopped. Against
// DATABASE_URL, or the embedded database of a running `npm start`.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import cliProgress from "cli-progress";
import { createLogger } from "../platform/logger.ts";
import { CutLogError, rebuildProjection, type RebuildProgress } from "../events/store/runner.ts";
import { itemsProjections } from "../subgraphs/items/src/projections.ts";
import { databaseToolConfig } from "../platform/config.ts";
import { openToolDatabase } from "./dev-token.ts";

/** The time left at the current rate, as `1h02m`, `3m07s` or `12s`; `?` before there is a rate. */
function etaOf(state: RebuildProgress): string {
  if (state.remaining === 0) return "0s";
  if (state.eventsPerSecond <= 0) return "?";
  const seconds = Math.ceil(state.remaining / state.eventsPerSecond);
  const [h, m, sec] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}h${two(m)}m` : m > 0 ? `${m}m${two(sec)}s` : `${sec}s`;
}

function bar(): { update(progress: RebuildProgress): void; stop(): void } {
  const progress = new cliProgress.SingleBar(
    {
      format: "{projection} g{generation} [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | ETA {left} | {phase}",
      // In CI and other pipes: a line every 5 s instead of redrawing.
      noTTYOutput: true,
      notTTYSchedule: 5_000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(state) {
      const total = state.applied + state.remaining;
      const payload = {
        projection: state.projection,
        generation: state.generation,
        rate: Math.round(state.eventsPerSecond),
        left: etaOf(state),
        phase: state.phase,
      };
      if (!started) {
        progress.start(total, state.applied, payload);
        started = true;
      } else {
        progress.setTotal(total);
        progress.update(state.applied, payload);
      }
    },
    stop: () => progress.stop(),
  };
}

async function main(args: readonly string[]): Promise<number> {
  const [command, name] = args;
  const projections = itemsProjections();
  const known = projections.map((projection) => projection.name);
  const projection = projections.find((candidate) => candidate.name === name);
  if (command !== "rebuild" || !projection) {
    console.error(`usage: npm run projections:rebuild -- <${known.join("|")}>`);
    return 2;
  }
  const logger = createLogger("projections");
  const progress = bar();
  const config = databaseToolConfig();
  const database = await openToolDatabase(config.databaseUrl, config.pgliteDataDir);
  const started = performance.now();
  try {
    const result = await rebuildProjection({ databaseUrl: database.url, projection, logger, onProgress: (state) => progress.update(state) });
    progress.stop();
    const seconds = (performance.now() - started) / 1_000;
    console.log(
      `${projection.name}: generation ${result.generation} is live (${result.applied} events, ${seconds.toFixed(1)} s, ${Math.round(result.applied / Math.max(seconds, 0.001))} events/s` +
        `${result.resumed ? ", resumed" : ""}${result.replaced === null ? "" : `; generation ${result.replaced} dropped`})`,
    );
    return 0;
  } catch (error) {
    progress.stop();
    if (error instanceof CutLogError) console.error(error.message);
    else console.error(`${projection.name}: rebuild failed (run it again to resume)\n${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await database.dispose();
  }
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
