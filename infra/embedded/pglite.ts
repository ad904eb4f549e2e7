// Embedded Postgres for the default `npm start`: PGlite (Postgres compiled to wasm) served over the
// Postgres wire protocol by @electric-sql/pglite-socket, so `pg`, Prisma's adapter-pg and psql
// talk to it like to any other server.
//
// Connections. PGlite is ONE single-user backend. PGLiteSocketServer (0.2.17) accepts
// `maxConnections` sockets (default 1) and funnels their protocol messages through one queue,
// keeping a connection's messages together only while an explicit transaction is open
// (`BEGIN … COMMIT`). Outside one, an extended-protocol query (Parse/Bind/Describe/Execute/Sync)
// is several messages; when a big message (a large Bind, e.g. a Prisma createMany) arrives in
// several TCP chunks, another connection's Parse can run in between and take over the shared
// unnamed statement ("invalid input syntax for type integer" with the wrong parameters: seen in a
// stress run). `exclusiveUntilReady` below closes that gap without touching the server: the server
// asks `db.isInTransaction()` whether it must stay with the last connection, and we answer "yes"
// until the backend has sent ReadyForQuery in the idle state. A connection therefore owns the
// backend from its first message to the end of its query batch or transaction, which makes many
// connections safe. They are still served one at a time: a connection that sits in an open
// transaction stalls all others until it commits or disconnects.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
// Loaded into every instance: the search migration creates the extension (trigram typo matching).
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/** Data dir value that keeps the database in memory only (nothing is written for it). */
export const IN_MEMORY = "memory://";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface EmbeddedPostgresOptions {
  /**
   * Where the database files live; relative paths are resolved from the repository root.
   * `"memory://"` keeps everything in memory.
   * @default ".data/pglite"
   */
  dataDir?: string;
  /** TCP port; 0 picks a free one (the real port is in the result). @default 0 */
  port?: number;
  /** Interface to bind. @default "127.0.0.1" */
  host?: string;
  /**
   * Sockets accepted at once (they are served one at a time, see the file comment). A connection
   * beyond the limit is refused, so size it for the sum of every pool in the process.
   * @default 64
   */
  maxConnections?: number;
  /**
   * A tarball of a freshly initialised cluster, reused so that a new database (in memory or a new
   * data dir) skips initdb: about 1.5 s instead of 5–10 s. Written on first use. `false` disables it.
   * @default ".data/pglite-template-<pglite version>.tgz"
   */
  templateCache?: string | false;
}

export interface EmbeddedPostgres {
  /** `postgresql://postgres@<host>:<port>/postgres`, for `pg` and `@prisma/adapter-pg`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Absolute data dir, or `"memory://"`. */
  readonly dataDir: string;
  readonly maxConnections: number;
  /** Stops accepting connections, drops open ones (rolling back their transactions) and closes PGlite. */
  dispose(): Promise<void>;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const host = options.host ?? "127.0.0.1";
  const maxConnections = options.maxConnections ?? 64;
  const inMemory = options.dataDir === IN_MEMORY;
  const dataDir = inMemory ? IN_MEMORY : resolveFromRoot(options.dataDir ?? ".data/pglite");
  const templatePath = options.templateCache === false ? undefined : resolveFromRoot(options.templateCache ?? defaultTemplateName());

  const releaseLock = inMemory ? () => {} : lockDataDir(dataDir);
  let db: PGlite | undefined;
  try {
    const isNew = inMemory || !existsSync(join(dataDir, "PG_VERSION"));
    const template = isNew && templatePath !== undefined && existsSync(templatePath) ? readFileSync(templatePath) : undefined;
    if (!inMemory) mkdirSync(dirname(dataDir), { recursive: true });
    // A dir without PG_VERSION is a failed first start: start it over.
    if (isNew && !inMemory) rmSync(dataDir, { recursive: true, force: true });
    const loadDataDir = template ? new Blob([new Uint8Array(template)]) : undefined;
    db = await PGlite.create(inMemory ? undefined : dataDir, { extensions: { pg_trgm }, ...(loadDataDir ? { loadDataDir } : {}) });
    if (isNew && templatePath !== undefined && !template) await saveTemplate(db, templatePath);

    const server = new PGLiteSocketServer({ db: exclusiveUntilReady(db), host, port: options.port ?? 0, maxConnections });
    await server.start();
    const port = Number(server.getServerConn().split(":").pop());
    const urlHost = host.includes(":") ? `[${host}]` : host;
    const opened = db;
    let disposed: Promise<void> | undefined;
    return {
      url: `postgresql://postgres@${urlHost}:${port}/postgres`,
      host,
      port,
      dataDir,
      maxConnections,
      dispose() {
        disposed ??= (async () => {
          try {
            await server.stop();
            // stop() detaches handlers without awaiting them; let their rollbacks run first.
            await new Promise((done) => setTimeout(done, 10));
            await opened.close();
          } finally {
            releaseLock();
          }
        })();
        return disposed;
      },
    };
  } catch (error) {
    if (db && !db.closed) await db.close().catch(() => {});
    releaseLock();
    throw error;
  }
}

/**
 * Wraps PGlite for PGLiteSocketServer so that the server's "keep serving the connection that is in
 * a transaction" rule also covers an unfinished extended-protocol batch (see the file comment).
 */
function exclusiveUntilReady(db: PGlite): PGlite {
  let busy = false;
  const execProtocolRawStream: PGlite["execProtocolRawStream"] = async (message, streamOptions) => {
    // The last 6 bytes of the answer tell whether it ended with ReadyForQuery ('Z', length 5, status).
    const tail = new Uint8Array(6);
    let seen = 0;
    const onRawData = (data: Uint8Array): void => {
      for (const byte of data.length > 6 ? data.subarray(data.length - 6) : data) {
        tail.copyWithin(0, 1);
        tail[5] = byte;
        seen++;
      }
      streamOptions.onRawData(data);
    };
    try {
      await db.execProtocolRawStream(message, { ...streamOptions, onRawData });
    } catch (error) {
      busy = false;
      throw error;
    }
    const ready = seen >= 6 && tail[0] === 0x5a && tail[1] === 0 && tail[2] === 0 && tail[3] === 0 && tail[4] === 5;
    const terminate = message[0] === 0x58; // 'X'
    // After ReadyForQuery the real transaction state decides ('T'/'E' keep the connection).
    busy = !ready && !terminate;
  };
  const exec: PGlite["exec"] = async (...args) => {
    // The server calls exec("ROLLBACK") for a connection that left mid-transaction.
    try {
      return await db.exec(...args);
    } finally {
      busy = false;
    }
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === "isInTransaction") return () => busy || target.isInTransaction();
      if (property === "execProtocolRawStream") return execProtocolRawStream;
      if (property === "exec") return exec;
      // PGlite uses #private fields: methods must run with the real instance as `this`.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function resolveFromRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(REPO_ROOT, path);
}

/** Keyed by the installed PGlite version: a template from another version must not be loaded. */
function defaultTemplateName(): string {
  // The package does not export its package.json: find it above the resolved entry point.
  let dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  for (let depth = 0; depth < 4; depth++, dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
    if (name === "@electric-sql/pglite" && version) return `.data/pglite-template-${version}.tgz`;
  }
  return ".data/pglite-template.tgz";
}

async function saveTemplate(db: PGlite, path: string): Promise<void> {
  try {
    const dump = await db.dumpDataDir("gzip");
    mkdirSync(dirname(path), { recursive: true });
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()));
    renameSync(partial, path); // atomic: a concurrent reader sees the whole file or none
  } catch {
    // Only a start-up optimisation; the database itself is fine.
  }
}

/** PGlite has no lock of its own: two processes on one data dir would corrupt it. */
function lockDataDir(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(lockPath, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new Error(`PGlite data dir ${dataDir} is in use by process ${holder} (lock file ${lockPath})`);
      }
      rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock PGlite data dir ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
