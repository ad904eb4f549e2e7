import { defineConfig } from "prisma/config";

// The URL matters only to the CLI's migrate commands, which need Prisma's native schema engine
// (users with network access). Here, migrations run through prisma/tools/migrate.ts.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/sunday" },
});
