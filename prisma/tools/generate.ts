// `npm run prisma:generate`: `prisma generate` without Prisma's native engines.
//
// Generation needs no engine, but the CLI insists on finding the schema-engine binary first, so it
// is pointed at a stub (/bin/true). Never use that stub for `prisma migrate`/`db push`/`db execute`:
// they then exit 0 and do nothing (see prisma/tools/migrate.ts for migrations).
// Skips when generated/prisma/client.ts is newer than prisma/schema.prisma, unless --force.
// Other arguments are passed on to `prisma generate`.

import { spawn } from "node:child_process";
import { existsSync, realpathSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SCHEMA_PATH = join(ROOT_DIR, "prisma", "schema.prisma");
export const GENERATED_CLIENT = join(ROOT_DIR, "generated", "prisma", "client.ts");

/** True when the generated client is older than the schema (or missing). */
export function clientIsStale(schemaPath: string = SCHEMA_PATH, clientPath: string = GENERATED_CLIENT): boolean {
  if (!existsSync(clientPath)) return true;
  return statSync(clientPath).mtimeMs <= statSync(schemaPath).mtimeMs;
}

function prismaCli(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve("prisma/package.json");
  const pkg = require(pkgPath) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin.prisma;
  if (!bin) throw new Error("prisma's package.json has no `prisma` bin");
  return join(dirname(pkgPath), bin);
}

/** Runs `prisma generate` (stdio inherited) and resolves with its exit code. */
export function runPrismaGenerate(extraArgs: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli(), "generate", ...extraArgs], {
      cwd: ROOT_DIR,
      stdio: "inherit",
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: "/bin/true",
        PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING: "1",
      },
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

async function main(argv: string[]): Promise<number> {
  const force = argv.includes("--force");
  const rest = argv.filter((a) => a !== "--force");
  if (!force && !clientIsStale()) {
    console.log(`${relative(ROOT_DIR, GENERATED_CLIENT)} is newer than schema.prisma: skipped (--force to regenerate)`);
    return 0;
  }
  return runPrismaGenerate(rest);
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
