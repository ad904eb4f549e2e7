// The read models the items subgraph builds from the event log and runs in its process
// (events/store/runner.ts); `npm run projections:rebuild -- <name>` rebuilds one of them.
import type { Projection } from "../../../events/store/projection.ts";
import { startProjections, type ProjectionRunner } from "../../../events/store/runner.ts";
import type { Logger } from "../../../platform/logger.ts";

export const PROJECTIONS: readonly Projection[] = [];

/** Runs the items subgraph's projections against `databaseUrl` (one runner per process; replicas take turns per batch). */
export function startItemsProjections(options: { databaseUrl: string; logger: Logger }): Promise<ProjectionRunner> {
  return startProjections({ databaseUrl: options.databaseUrl, projections: PROJECTIONS, logger: options.logger.child({ part: "projections" }) });
}
