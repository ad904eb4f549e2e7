// A PostgreSQL server of a test's own (the machine's PostgreSQL 15 binaries, run as the `postgres`
// user since initdb refuses root), for what the shared one cannot show: TLS only, here.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmod, chown, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.ts";
import type { TestCa } from "./test-ca.ts";
import { waitFor } from "./wait.ts";

const run = promisify(execFile);
const BIN = "/usr/lib/postgresql/15/bin";

export interface OwnPostgres {
  readonly port: number;
  readonly process: ChildProcess;
  dispose(): Promise<void>;
}

/** Runs a command as the postgres user when this process is root (initdb and postgres refuse root). */
function asPostgres(command: string, args: readonly string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, [...args]];
}

/** A server that accepts TLS connections only (hostssl, trust), with the certificate `ca` signed. */
export async function startTlsPostgres(ca: TestCa): Promise<OwnPostgres> {
  const dir = await mkdtemp(join(tmpdir(), "sunday-pg-tls-"));
  const data = join(dir, "data");
  const port = await freePort();
  const owner = (await run("id", ["-u", "postgres"]).catch(() => ({ stdout: "" }))).stdout.trim();
  if (process.getuid?.() === 0 && !owner) throw new Error("running as root needs a `postgres` user to run initdb as");
  await mkdir(data);
  for (const file of ["server.crt", "server.key"] as const) await copyFile(file === "server.crt" ? ca.certFile : ca.keyFile, join(dir, file));
  await chmod(join(dir, "server.key"), 0o600);
  if (owner) {
    const uid = Number(owner);
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    for (const path of [dir, data, join(dir, "server.crt"), join(dir, "server.key")]) await chown(path, uid, gid);
  }
  await run(...asPostgres(`${BIN}/initdb`, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]), { timeout: 60_000 });
  await writeFile(join(data, "pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 trust\n");
  const [command, args] = asPostgres(`${BIN}/postgres`, [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "ssl=on",
    "-c",
    `ssl_cert_file=${join(dir, "server.crt")}`,
    "-c",
    `ssl_key_file=${join(dir, "server.key")}`,
    "-c",
    "fsync=off",
  ]);
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-2_000);
  });
  await waitFor(
    "the TLS PostgreSQL to accept connections",
    async () =>
      await run(`${BIN}/pg_isready`, ["-h", "127.0.0.1", "-p", String(port)]).then(
        () => true,
        () => false,
      ),
    () => log,
    30_000,
  );
  return {
    port,
    process: child,
    async dispose() {
      child.kill("SIGKILL");
      await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(undefined)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
