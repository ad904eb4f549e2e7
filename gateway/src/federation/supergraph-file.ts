import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { SupergraphManager, SupergraphSdlUpdateFunction } from "@apollo/gateway";
import type { Logger } from "../../../platform/logger.ts";

export type ReloadOutcome = "updated" | "unchanged" | "rejected";

export interface SupergraphFileOptions {
  /** The composed supergraph SDL the gateway serves (supergraph.graphql). */
  readonly path: string;
  readonly logger: Logger;
  /** Reload on SIGHUP. @default true */
  readonly reloadOnSighup?: boolean;
  /** Reload when the file changes. @default true */
  readonly watchFile?: boolean;
  readonly onReload?: (outcome: ReloadOutcome, error?: unknown) => void;
}

/**
 * A supergraph manager that serves a file and hot-reloads it on change or SIGHUP. A new SDL goes
 * through the gateway's own `update`, which builds the new schema and planner before swapping, so
 * in-flight requests finish on the old plan; an SDL that fails to load is refused and logged while
 * the old one keeps serving.
 */
export class SupergraphFile implements SupergraphManager {
  private update: SupergraphSdlUpdateFunction | null = null;
  private current = "";
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private readonly onSighup = () => void this.reload();

  private readonly options: SupergraphFileOptions;

  constructor(options: SupergraphFileOptions) {
    this.options = options;
  }

  async initialize({ update }: { update: SupergraphSdlUpdateFunction }): Promise<{ supergraphSdl: string; cleanup: () => Promise<void> }> {
    this.update = update;
    this.current = await readFile(this.options.path, "utf8");
    if (this.options.watchFile ?? true) {
      // Editors and deploys replace the file (rename), so watch its directory, not the inode.
      const name = basename(this.options.path);
      this.watcher = watch(dirname(this.options.path), (_event, changed) => {
        if (changed !== name) return;
        if (this.debounce) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload(), 100);
      });
    }
    if (this.options.reloadOnSighup ?? true) process.on("SIGHUP", this.onSighup);
    return { supergraphSdl: this.current, cleanup: () => this.cleanup() };
  }

  /** Reads the file again and applies it if it changed. */
  async reload(): Promise<ReloadOutcome> {
    const { logger, onReload } = this.options;
    let sdl: string;
    try {
      sdl = await readFile(this.options.path, "utf8");
    } catch (error) {
      logger.error({ err: error, path: this.options.path }, "supergraph reload refused: file unreadable");
      onReload?.("rejected", error);
      return "rejected";
    }
    if (sdl === this.current || !this.update) return "unchanged";
    try {
      this.update(sdl);
    } catch (error) {
      logger.error({ err: error, path: this.options.path }, "supergraph reload refused; the previous supergraph keeps serving");
      onReload?.("rejected", error);
      return "rejected";
    }
    this.current = sdl;
    logger.info({ path: this.options.path }, "supergraph reloaded");
    onReload?.("updated");
    return "updated";
  }

  private async cleanup(): Promise<void> {
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
    process.off("SIGHUP", this.onSighup);
  }
}
