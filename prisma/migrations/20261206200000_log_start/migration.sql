-- Where the event log starts once retention has dropped its oldest months (no row: nothing was ever
-- dropped, the log is whole). A read model that needs every event since the first cannot be rebuilt
-- from a log cut there: its rebuild reads this and refuses (events/store/runner.ts).
CREATE TABLE "eventstore"."LogStart" (
    "id" BOOLEAN PRIMARY KEY DEFAULT true CHECK ("id"),
    "keptFrom" TIMESTAMPTZ NOT NULL,
    "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
);
