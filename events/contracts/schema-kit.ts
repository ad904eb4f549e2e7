/** Small builders for the `data` schemas, so each contract reads like the shape it describes. */
/** A JSON Schema (draft 2020-12) as plain data; ajv's own `SchemaObject` is indexed by `any`. */
export type Schema = { readonly [keyword: string]: unknown };

export const uuid: Schema = { type: "string", format: "uuid" };
export const nullableUuid: Schema = { type: ["string", "null"], format: "uuid" };
export const uuidList = (maxItems = 50): Schema => ({ type: "array", items: uuid, maxItems, uniqueItems: true });

/** A trimmed, non-empty user-supplied string bounded like its column in schema.prisma. */
export const text = (maxLength: number): Schema => ({ type: "string", minLength: 1, maxLength });
/** An optional text field: may be cleared (null) or set to the empty string. */
export const optionalText = (maxLength: number): Schema => ({ type: ["string", "null"], maxLength });

export const enumOf = (...values: readonly string[]): Schema => ({ type: "string", enum: [...values] });
export const position: Schema = { type: "number" };
export const jsonObject: Schema = { type: "object" };
/** Any JSON value but null (a column value that is set). */
export const jsonValue: Schema = { type: ["string", "number", "boolean", "object", "array"] };
/** Any JSON value or null (a column value before / after, null = empty). */
export const nullableJsonValue: Schema = { type: ["string", "number", "boolean", "object", "array", "null"] };

export const MEMBERSHIP_ROLES = ["OWNER", "ADMIN", "MEMBER", "VIEWER", "GUEST"] as const;
export const BOARD_KINDS = ["PUBLIC", "PRIVATE", "SHAREABLE"] as const;
export const BOARD_PERMISSIONS = ["OWNER", "EDITOR", "VIEWER"] as const;
export const COLUMN_TYPES = ["TEXT", "STATUS", "PERSON", "DATE", "NUMBER", "DROPDOWN", "TIMELINE"] as const;
export const INTEGRATION_TYPES = ["SLACK", "TEAMS", "WEBHOOK"] as const;

/** A closed object: every `required` key must be there, nothing outside `properties` may be. */
export function object(required: Record<string, Schema>, optional: Record<string, Schema> = {}): Schema {
  return {
    type: "object",
    additionalProperties: false,
    required: Object.keys(required),
    properties: { ...required, ...optional },
  };
}

/** `{ from, to }`, as written by `change()` in subgraphs/shared/outbox.ts. */
export const change = (value: Schema): Schema => object({ from: value, to: value });

/** `changes`: only the keys that really changed (may be empty when an update changed nothing). */
export const changes = (entries: Record<string, Schema>): Schema => object({}, entries);
