// The README's first steps as a newcomer takes them: `npm start` on the embedded database, then
// the `npm run dev-token -- <email>` command it prints, run exactly as printed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { embeddedAddressFile } from "../scripts/dev-token.ts";

const ROOT = new URL("../", import.meta.url);
const run = promisify(execFile);

describe("npm start on the embedded database", () => {
  let dir: string;
  let dataDir: string;
  let start: ChildProcess;
  let output = "";
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sunday-newcomer-"));
    dataDir = join(dir, "pglite");
    // The embedded defaults (no DATABASE_URL, REDIS_URL or KAFKA_BROKERS), a data dir of its own, free ports.
    env = { ...process.env, PGLITE_DATA_DIR: dataDir, PORT: "0", USERS_PORT: "0", PROJECTS_PORT: "0", ITEMS_PORT: "0", INTEGRATIONS_PORT: "0" };
    for (const name of ["DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "NODE_ENV"]) delete env[name];
    // `npm start`'s own command, without npm in between: npm does not pass SIGTERM on to it, and a
    // process of the test's own is stopped with the test (and by a Ctrl-C of the run).
    const [command = "", ...args] = (JSON.parse(await readFile(new URL("package.json", ROOT), "utf8")) as { scripts: { start: string } }).scripts.start.split(" ");
    assert.equal(command, "node");
    start = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    start.stderr?.resume();
    await new Promise<void>((resolve, reject) => {
      start.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8");
        if (output.includes("Tokens for other users")) resolve();
      });
      start.once("exit", (code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${output}`)));
    });
  });
  after(async () => {
    if (start?.exitCode === null) {
      const exited = new Promise((resolve) => start.once("exit", resolve));
      start.kill("SIGTERM");
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints a dev-token command that works as printed, for the user named", async () => {
    const [, email] = /npm run dev-token -- <email>\s+\(e\.g\. (\S+),/.exec(output) ?? [];
    const [, gateway] = /GraphiQL:\s+(http:\/\/\S+)\/graphql/.exec(output) ?? [];
    assert.ok(email && gateway, output);
    assert.ok(existsSync(embeddedAddressFile(dataDir)), "npm start left its database's address for other processes");

    const { stdout } = await run("npm", ["run", "dev-token", "--", email], { cwd: ROOT, env });
    const token = stdout.trim().split("\n").at(-1) ?? "";
    const response = await fetch(`${gateway}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ me { email } }" }),
    });
    assert.deepEqual(await response.json(), { data: { me: { email } } });
  });
});
