// The demo seed's rows as the events that would have made them, appended to the event store (not
// the outbox: nothing is published), so the demo's boards, items and comments have a history and
// are found by search like data made through the API. Each event takes the row's own version, so
// the next real change claims the next one: a board is created at version 1 and shared with each
// member besides its owner in the versions after (the seed gives the row that version), so search's
// reading facts know its shares. Not expressed: subitems (no event creates one without moving its
// parent item's version past the row's).
import { Prisma } from "../generated/prisma/client.ts";

/** `jsonb` of a domain event envelope made in SQL from a row (`occurred`: its creation time; `actor`: who made it). */
function envelope(
  eventType: string,
  aggregateType: string,
  row: { id: Prisma.Sql; version: Prisma.Sql; organization: Prisma.Sql; occurred: Prisma.Sql; actor: Prisma.Sql },
  data: Prisma.Sql,
): Prisma.Sql {
  const { id, version, organization, occurred, actor } = row;
  return Prisma.sql`jsonb_build_object(
    'eventId', gen_random_uuid(), 'eventType', CAST(${eventType} AS text), 'schemaVersion', 1, 'aggregateId', ${id}, 'aggregateType', CAST(${aggregateType} AS text),
    'version', ${version}, 'data', ${data},
    'metadata', jsonb_build_object('correlationId', 'seed', 'userId', ${actor}, 'organizationId', ${organization}, 'timestamp', to_char(${occurred} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'source', 'seed', 'surface', 'system'))`;
}

/** Appends the events of one envelope expression per row of `from` (`e` is the envelope, joined in as a lateral). */
function append(select: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`INSERT INTO eventstore."Event" ("sequence", "eventId", "organizationId", "aggregateType", "aggregateId", "version", "eventType",
      "schemaVersion", "boardId", "userId", "surface", "apiKeyId", "envelope", "occurredAt")
    SELECT nextval(pg_get_serial_sequence('events."OutboxEvent"', 'sequence')), CAST(e.v->>'eventId' AS uuid), CAST(e.v->'metadata'->>'organizationId' AS uuid),
      e.v->>'aggregateType', CAST(e.v->>'aggregateId' AS uuid), CAST(e.v->>'version' AS int), e.v->>'eventType', 1, CAST(e.v->'data'->>'boardId' AS uuid),
      CAST(e.v->'metadata'->>'userId' AS uuid), 'system', NULL, e.v, CAST(e.v->'metadata'->>'timestamp' AS timestamptz)
    FROM (${select}) AS e(v)
    -- The store claims versions in order (nextval and its trigger run after this sort).
    ORDER BY CAST(e.v->>'version' AS int)`;
}

/** The statements that append the seeded organisations' boards, items and comments to the log. */
export function seedEventStatements(organizationIds: readonly string[]): Prisma.Sql[] {
  const orgs = Prisma.sql`CAST(${organizationIds} AS uuid[])`;
  return [
    append(
      Prisma.sql`SELECT ${envelope(
        "project.created",
        "Board",
        {
          id: Prisma.sql`b."id"`,
          version: Prisma.sql`1`,
          organization: Prisma.sql`b."organizationId"`,
          occurred: Prisma.sql`b."createdAt"`,
          actor: Prisma.sql`b."ownerId"`,
        },
        Prisma.sql`jsonb_strip_nulls(jsonb_build_object('boardId', b."id", 'workspaceId', b."workspaceId", 'name', b."name", 'kind', b."kind", 'ownerId', b."ownerId", 'description', b."description"))`,
      )} FROM projects."Board" b WHERE b."organizationId" = ANY(${orgs})`,
    ),
    append(
      Prisma.sql`SELECT ${envelope(
        "project.member.added",
        "Board",
        {
          id: Prisma.sql`m."boardId"`,
          version: Prisma.sql`1 + row_number() OVER (PARTITION BY m."boardId" ORDER BY m."createdAt", m."userId")`,
          organization: Prisma.sql`m."organizationId"`,
          occurred: Prisma.sql`m."createdAt"`,
          actor: Prisma.sql`b."ownerId"`,
        },
        Prisma.sql`jsonb_build_object('boardId', m."boardId", 'userId', m."userId", 'permission', m."permission")`,
      )} FROM projects."BoardMember" m JOIN projects."Board" b ON b."id" = m."boardId"
       WHERE m."organizationId" = ANY(${orgs}) AND m."userId" <> b."ownerId"`,
    ),
    append(
      Prisma.sql`SELECT ${envelope(
        "project.item.created",
        "Item",
        {
          id: Prisma.sql`i."id"`,
          version: Prisma.sql`i."version"`,
          organization: Prisma.sql`i."organizationId"`,
          occurred: Prisma.sql`i."createdAt"`,
          actor: Prisma.sql`i."creatorId"`,
        },
        Prisma.sql`jsonb_build_object('boardId', i."boardId", 'groupId', i."groupId", 'itemId', i."id", 'name', i."name", 'position', i."position",
        'assigneeIds', coalesce((SELECT jsonb_agg(a."userId" ORDER BY a."createdAt", a."userId") FROM items."ItemAssignee" a WHERE a."itemId" = i."id"), '[]'::jsonb),
        'columnValues', coalesce((SELECT jsonb_agg(jsonb_build_object('columnId', c."columnId", 'value', c."value") ORDER BY c."columnId") FROM items."ColumnValue" c WHERE c."itemId" = i."id"), '[]'::jsonb))`,
      )} FROM items."Item" i WHERE i."organizationId" = ANY(${orgs}) AND i."deletedAt" IS NULL`,
    ),
    append(
      Prisma.sql`SELECT ${envelope(
        "comment.added",
        "Comment",
        {
          id: Prisma.sql`c."id"`,
          version: Prisma.sql`c."version"`,
          organization: Prisma.sql`c."organizationId"`,
          occurred: Prisma.sql`c."createdAt"`,
          actor: Prisma.sql`c."authorId"`,
        },
        Prisma.sql`jsonb_build_object('boardId', i."boardId", 'itemId', c."itemId", 'commentId', c."id", 'authorId', c."authorId", 'body', c."body")`,
      )} FROM items."Comment" c JOIN items."Item" i ON i."id" = c."itemId" WHERE c."organizationId" = ANY(${orgs}) AND c."deletedAt" IS NULL`,
    ),
  ];
}
