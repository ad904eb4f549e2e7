-- Full-text search: the search projection (subgraphs/items/src/search/projection.ts) keeps its
-- documents and board facts in this schema, one set of tables per generation made at run time
-- (search."Document_g<N>", search."Board_g<N>", search."Deleted_g<N>"), with the views
-- search."Document" and search."Board" on the live one. Written by hand and outside schema.prisma's
-- `schemas`, like eventstore: Prisma's diff leaves it alone.

-- Trigram indexes and word_similarity, for typos in titles.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SCHEMA IF NOT EXISTS "search";
