-- Projections read the log in (transactionId, sequence) order, which must keep each aggregate's
-- versions in order. A transaction id is taken at a transaction's first write, before any wait for a
-- row lock; several writers queued on one row are let through in any order, so a writer with an
-- older id could still write the next version after a younger one. The store refuses that write
-- (serialization_failure: retry it), so that per aggregate the log's order is the version order.
ALTER TABLE "eventstore"."Stream" ADD COLUMN "transactionId" xid8 NOT NULL DEFAULT '0';

CREATE OR REPLACE FUNCTION "eventstore"."claim_version"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head record;
BEGIN
  INSERT INTO "eventstore"."Stream" AS s ("aggregateId", "aggregateType", "organizationId", "version", "updatedAt", "transactionId")
  VALUES (NEW."aggregateId", NEW."aggregateType", NEW."organizationId", NEW."version", NEW."occurredAt", NEW."transactionId")
  ON CONFLICT ("aggregateId") DO UPDATE SET "version" = EXCLUDED."version", "updatedAt" = EXCLUDED."updatedAt", "transactionId" = EXCLUDED."transactionId"
  WHERE s."version" < EXCLUDED."version" AND s."transactionId" <= EXCLUDED."transactionId";
  IF NOT FOUND THEN
    SELECT "version", "transactionId" INTO head FROM "eventstore"."Stream" WHERE "aggregateId" = NEW."aggregateId";
    IF head."version" >= NEW."version" THEN
      RAISE EXCEPTION 'event store: % % is already at version % or later', NEW."aggregateType", NEW."aggregateId", NEW."version"
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'Event_aggregate_version_key';
    END IF;
    RAISE EXCEPTION 'event store: % % version % comes from a transaction older than its version %; retry it', NEW."aggregateType", NEW."aggregateId", NEW."version", head."version"
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN NEW;
END;
$$;
