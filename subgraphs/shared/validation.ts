import { badInput } from "./errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else is refused before it reaches SQL. */
export function requireId(value: string, field: string): string {
  if (!UUID.test(value)) throw badInput(`${field} is not a valid id`, field);
  return value.toLowerCase();
}

export function isId(value: string): boolean {
  return UUID.test(value);
}

export function requireIds(values: readonly string[], field: string, max = 100): string[] {
  if (values.length > max) throw badInput(`${field} accepts at most ${max} ids`, field);
  return [...new Set(values.map((value) => requireId(value, field)))];
}

/** Trims and bounds a user-supplied string; the limits mirror the column sizes in schema.prisma. */
export function requireText(value: string, field: string, options: { max: number; min?: number }): string {
  const text = value.trim();
  const min = options.min ?? 1;
  if (text.length < min) throw badInput(`${field} must not be empty`, field);
  if (text.length > options.max) throw badInput(`${field} must be at most ${options.max} characters`, field);
  return text;
}

export function optionalText(
  value: string | null | undefined,
  field: string,
  options: { max: number },
): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  return requireText(value, field, { max: options.max, min: 0 });
}

export function requireVersion(value: number, field = "expectedVersion"): number {
  if (!Number.isInteger(value) || value < 1) throw badInput(`${field} must be a positive integer`, field);
  return value;
}

/** Only for mutations that do not need an input field at all: rejects explicit null. */
export function present<T>(value: T | null | undefined, field: string): T | undefined {
  if (value === null) throw badInput(`${field} cannot be null`, field);
  return value;
}
