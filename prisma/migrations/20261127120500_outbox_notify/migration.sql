-- Wake outbox relays on LISTEN "outbox_event" instead of polling tightly. One notification per
-- inserting statement is enough: a relay drains everything unpublished when it wakes.
-- (Prisma does not model functions or triggers; this migration is written by hand.)
CREATE OR REPLACE FUNCTION "events"."notify_outbox_event"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_event', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER "OutboxEvent_notify"
AFTER INSERT ON "events"."OutboxEvent"
FOR EACH STATEMENT EXECUTE FUNCTION "events"."notify_outbox_event"();
