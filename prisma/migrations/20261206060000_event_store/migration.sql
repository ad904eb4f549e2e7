-- The event store: every domain event, kept (append-only), in its own schema. Written by hand:
-- Prisma models neither partitioned tables nor triggers, and the schema is not in schema.prisma's
-- `schemas`, so Prisma's diff leaves it alone. Readers use SQL (eventstore/ in the code).

CREATE SCHEMA IF NOT EXISTS "eventstore";

-- One row per event, partitioned by month of occurrence so retention drops whole partitions. The
-- envelope is the one published; the columns beside it are what readers filter and order on.
-- (aggregateId, version) is unique across partitions through "Stream" below: a partitioned table's
-- own unique keys must contain the partition key, so they could not refuse the same version in two
-- months.
CREATE TABLE "eventstore"."Event" (
    "sequence" BIGINT NOT NULL,
    "transactionId" xid8 NOT NULL DEFAULT pg_current_xact_id(),
    "eventId" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "aggregateType" VARCHAR(100) NOT NULL,
    "aggregateId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "eventType" VARCHAR(100) NOT NULL,
    "schemaVersion" INTEGER NOT NULL,
    "boardId" UUID,
    "userId" UUID,
    "surface" VARCHAR(20),
    "apiKeyId" UUID,
    "envelope" JSONB NOT NULL,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "Event_pkey" PRIMARY KEY ("aggregateId", "version", "occurredAt")
) PARTITION BY RANGE ("occurredAt");

-- Board history, newest first.
CREATE INDEX "Event_board_idx" ON "eventstore"."Event" ("boardId", "occurredAt", "sequence") WHERE "boardId" IS NOT NULL;
-- Projections tail the log in commit-safe order (see eventstore/log.ts).
CREATE INDEX "Event_position_idx" ON "eventstore"."Event" ("transactionId", "sequence");

-- Anything outside the monthly partitions (events from before this migration, a clock far ahead)
-- lands here rather than failing the change that wrote it.
CREATE TABLE "eventstore"."Event_default" PARTITION OF "eventstore"."Event" DEFAULT;

-- Creates the monthly partitions from `first` (any day of its month) for `months` months; existing
-- ones are kept. Called by the migration and by the store's maintenance (eventstore/partitions.ts).
CREATE OR REPLACE FUNCTION "eventstore"."ensure_partitions"(first date, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  month_start date := date_trunc('month', first)::date;
  created integer := 0;
  name text;
BEGIN
  FOR i IN 0 .. months - 1 LOOP
    name := format('Event_%s', to_char(month_start, 'YYYY_MM'));
    IF to_regclass(format('"eventstore".%I', name)) IS NULL THEN
      EXECUTE format('CREATE TABLE "eventstore".%I PARTITION OF "eventstore"."Event" FOR VALUES FROM (%L) TO (%L)',
        name, month_start::timestamptz, (month_start + interval '1 month')::timestamptz);
      created := created + 1;
    END IF;
    month_start := (month_start + interval '1 month')::date;
  END LOOP;
  RETURN created;
END;
$$;

SELECT "eventstore"."ensure_partitions"((now() - interval '1 month')::date, 4);

-- Each aggregate's head: its type, tenant and latest version. Appending claims the next version
-- here first, so a second writer at a version already stored (or below it) is refused with a
-- unique violation by the store itself, whatever the writer checked before.
CREATE TABLE "eventstore"."Stream" (
    "aggregateId" UUID NOT NULL,
    "aggregateType" VARCHAR(100) NOT NULL,
    "organizationId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "Stream_pkey" PRIMARY KEY ("aggregateId")
);

CREATE OR REPLACE FUNCTION "eventstore"."claim_version"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "eventstore"."Stream" AS s ("aggregateId", "aggregateType", "organizationId", "version", "updatedAt")
  VALUES (NEW."aggregateId", NEW."aggregateType", NEW."organizationId", NEW."version", NEW."occurredAt")
  ON CONFLICT ("aggregateId") DO UPDATE SET "version" = EXCLUDED."version", "updatedAt" = EXCLUDED."updatedAt"
  WHERE s."version" < EXCLUDED."version";
  IF NOT FOUND THEN
    RAISE EXCEPTION 'event store: % % is already at version % or later', NEW."aggregateType", NEW."aggregateId", NEW."version"
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'Event_aggregate_version_key';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "Event_claim_version"
BEFORE INSERT ON "eventstore"."Event"
FOR EACH ROW EXECUTE FUNCTION "eventstore"."claim_version"();

-- Every outbox row is appended to the log in the transaction that wrote it: one place, so no
-- write path (Prisma create, the one-statement CTE writes, the integrations runtime) can skip it.
CREATE OR REPLACE FUNCTION "eventstore"."append_outbox_event"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  metadata jsonb := NEW."envelope" -> 'metadata';
BEGIN
  INSERT INTO "eventstore"."Event" ("sequence", "eventId", "organizationId", "aggregateType", "aggregateId", "version", "eventType",
    "schemaVersion", "boardId", "userId", "surface", "apiKeyId", "envelope", "occurredAt")
  VALUES (NEW."sequence", NEW."id", NEW."organizationId", NEW."aggregateType", NEW."aggregateId", NEW."aggregateVersion", NEW."eventType",
    NEW."schemaVersion", CAST(NEW."envelope" -> 'data' ->> 'boardId' AS uuid), CAST(metadata ->> 'userId' AS uuid),
    metadata ->> 'surface', CAST(metadata ->> 'apiKeyId' AS uuid), NEW."envelope",
    COALESCE(CAST(metadata ->> 'timestamp' AS timestamptz), NEW."createdAt"));
  RETURN NULL;
END;
$$;

CREATE TRIGGER "OutboxEvent_append"
AFTER INSERT ON "events"."OutboxEvent"
FOR EACH ROW EXECUTE FUNCTION "eventstore"."append_outbox_event"();

-- The latest state of an aggregate at a version (every N versions), so an as-of read folds at most
-- N - 1 events on top of one.
CREATE TABLE "eventstore"."Snapshot" (
    "aggregateId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "aggregateType" VARCHAR(100) NOT NULL,
    "organizationId" UUID NOT NULL,
    "state" JSONB NOT NULL,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Snapshot_pkey" PRIMARY KEY ("aggregateId", "version")
);
CREATE INDEX "Snapshot_occurred_idx" ON "eventstore"."Snapshot" ("aggregateId", "occurredAt");

-- Read models built from the log: one row per (projection, generation). The live generation serves
-- readers; a rebuild fills a new one from the start and is swapped in once it has caught up.
-- The position is the last applied event's (transactionId, sequence).
CREATE TABLE "eventstore"."Projection" (
    "name" VARCHAR(100) NOT NULL,
    "generation" INTEGER NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "transactionId" xid8 NOT NULL DEFAULT '0',
    "sequence" BIGINT NOT NULL DEFAULT 0,
    "applied" BIGINT NOT NULL DEFAULT 0,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMPTZ(3),
    CONSTRAINT "Projection_pkey" PRIMARY KEY ("name", "generation"),
    CONSTRAINT "Projection_status_check" CHECK ("status" IN ('building', 'live', 'retired'))
);
CREATE UNIQUE INDEX "Projection_live_key" ON "eventstore"."Projection" ("name") WHERE "status" = 'live';

-- The events written before the store existed, oldest version first per aggregate (so the claims
-- above accept them); an aggregate's repeated version, if any, keeps its first row.
INSERT INTO "eventstore"."Event" ("sequence", "eventId", "organizationId", "aggregateType", "aggregateId", "version", "eventType",
  "schemaVersion", "boardId", "userId", "surface", "apiKeyId", "envelope", "occurredAt")
SELECT DISTINCT ON (o."aggregateId", o."aggregateVersion")
  o."sequence", o."id", o."organizationId", o."aggregateType", o."aggregateId", o."aggregateVersion", o."eventType", o."schemaVersion",
  CAST(o."envelope" -> 'data' ->> 'boardId' AS uuid), CAST(o."envelope" -> 'metadata' ->> 'userId' AS uuid), NULL, NULL, o."envelope",
  COALESCE(CAST(o."envelope" -> 'metadata' ->> 'timestamp' AS timestamptz), o."createdAt")
FROM "events"."OutboxEvent" o
ORDER BY o."aggregateId", o."aggregateVersion", o."sequence";
