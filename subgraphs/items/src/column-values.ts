import type { Prisma } from "../../../generated/prisma/client.ts";
import { badInput } from "../../shared/errors.ts";
import { isId, jsonValueProblem, textProblem } from "../../shared/validation.ts";
import type { ColumnFacts } from "./context.ts";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_TEXT = 2000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A real calendar day: `Date.parse` accepts 2026-02-30 (and rolls it over to March 2). */
function isDate(value: unknown): value is string {
  if (typeof value !== "string" || !DATE.test(value)) return false;
  const day = new Date(`${value}T00:00:00.000Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === value;
}

function labelsOf(settings: unknown): string[] | null {
  if (!isRecord(settings) || !Array.isArray(settings.labels)) return null;
  return settings.labels.flatMap((label) => (typeof label === "string" ? [label] : isRecord(label) && typeof label.label === "string" ? [label.label] : []));
}

function optionsOf(settings: unknown): string[] | null {
  if (!isRecord(settings) || !Array.isArray(settings.options)) return null;
  return settings.options.flatMap((option) =>
    typeof option === "string" ? [option] : isRecord(option) && typeof option.label === "string" ? [option.label] : [],
  );
}

/**
 * Checks a value against its column's type and settings and returns it in canonical form.
 * The shapes: TEXT "…", NUMBER 1.5, STATUS { label }, DROPDOWN { labels: [] }, DATE { date },
 * TIMELINE { from, to }, PERSON { userIds: [] }.
 */
export function parseColumnValue(column: ColumnFacts, value: unknown): Prisma.InputJsonValue {
  const field = "value";
  const fail = (message: string) => badInput(`${column.type} column ${column.id}: ${message}`, field);
  // The JSON scalar checked this already; a value that reached here another way is checked too.
  const problem = jsonValueProblem(value);
  if (problem) throw fail(`${["value", ...problem.path].join(".")} ${problem.message}`);
  switch (column.type) {
    case "TEXT": {
      if (typeof value !== "string") throw fail("expects a string");
      const textual = textProblem(value, "multi-line");
      if (textual) throw fail(`text ${textual}`);
      if (value.length > MAX_TEXT) throw fail(`text must be at most ${MAX_TEXT} characters`);
      return value;
    }
    case "NUMBER":
      if (typeof value !== "number" || !Number.isFinite(value)) throw fail("expects a finite number");
      return value;
    case "STATUS": {
      if (!isRecord(value) || typeof value.label !== "string") throw fail("expects { label }");
      const labels = labelsOf(column.settings);
      if (labels && !labels.includes(value.label)) throw fail(`unknown label ${JSON.stringify(value.label)}`);
      return { label: value.label };
    }
    case "DROPDOWN": {
      if (!isRecord(value) || !Array.isArray(value.labels) || !value.labels.every((label) => typeof label === "string")) {
        throw fail("expects { labels: string[] }");
      }
      const options = optionsOf(column.settings);
      const unknown = options ? value.labels.filter((label) => !options.includes(label)) : [];
      if (unknown.length > 0) throw fail(`unknown options ${JSON.stringify(unknown)}`);
      return { labels: [...new Set(value.labels as string[])] };
    }
    case "DATE":
      if (!isRecord(value) || !isDate(value.date)) throw fail("expects { date: YYYY-MM-DD }");
      return { date: value.date };
    case "TIMELINE":
      if (!isRecord(value) || !isDate(value.from) || !isDate(value.to)) throw fail("expects { from, to } as YYYY-MM-DD");
      if (value.from > value.to) throw fail("from must not be after to");
      return { from: value.from, to: value.to };
    case "PERSON": {
      if (!isRecord(value) || !Array.isArray(value.userIds)) throw fail("expects { userIds: ID[] }");
      const ids = value.userIds;
      if (ids.length > 50 || !ids.every((id): id is string => typeof id === "string" && isId(id))) {
        throw fail("userIds must be at most 50 valid ids");
      }
      return { userIds: [...new Set(ids.map((id) => id.toLowerCase()))] };
    }
  }
}

/** User ids a value refers to, so they can be checked against the organisation. */
export function personIds(value: Prisma.InputJsonValue): string[] {
  const record: unknown = value;
  if (!isRecord(record) || !Array.isArray(record.userIds)) return [];
  return record.userIds.filter((id): id is string => typeof id === "string");
}
