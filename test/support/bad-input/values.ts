/**
 * Malformed values for the bad-input suite: the strings, numbers and JSON shapes that broke (or
 * might break) the API, as fast-check arbitraries. Kept in one place so the REST and GraphQL
 * generators send the same nasties.
 */
import fc from "fast-check";

/** A JSON fragment sent exactly as written: numbers JSON.stringify cannot produce (`1e400`), deep nests, `__proto__` keys. */
export class RawJson {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }
}

/** What the generators put in bodies and variables: JSON values that may hold raw fragments. */
export type Wire = null | boolean | number | string | RawJson | readonly Wire[] | { readonly [key: string]: Wire };

/**
 * JSON text of a value with raw fragments spliced in. Hand-rolled because JSON.stringify cannot
 * emit `1e400` or a 5,000-deep nest without recursing 5,000 frames.
 */
export function toJson(value: Wire | undefined): string {
  if (value === undefined) return "null";
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((entry) => toJson(entry)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([key, entry]) => `${JSON.stringify(key)}:${toJson(entry as Wire)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** An object with an own enumerable key that object literals cannot make (`__proto__`). */
export function withKey(object: { readonly [key: string]: Wire }, key: string, value: Wire): { readonly [key: string]: Wire } {
  const copy: Record<string, Wire> = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

export const DEPTH = 5_000;
export const deepArray = (depth = DEPTH) => new RawJson(`${"[".repeat(depth)}${"]".repeat(depth)}`);
export const deepObject = (depth = DEPTH) => new RawJson(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);

export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/** Strings that must be refused or stored intact, never reach Postgres as an error. */
export const nastyStrings: readonly [label: string, value: string][] = [
  ["a NUL byte", "before\u0000after"],
  ["only NUL", "\u0000"],
  ["an unpaired high surrogate", "name \ud800 end"],
  ["an unpaired low surrogate", "\udfff"],
  ["control characters", "bell\u0007esc\u001b[31mred\u0008"],
  ["a bidi override", "invoice\u202egnp.exe\u202c"],
  ["bidi isolates", "\u2066abc\u2069\u200f"],
  ["zero-width characters", "\u200b\u200d\ufeff"],
  ["the LIKE wildcard %", "%"],
  ["the LIKE wildcard _", "_"],
  ["a LIKE escape", "\\"],
  ["LIKE wildcards mixed", "%_\\%"],
  ["SQL-looking text", "' OR '1'='1' --"],
  ["whitespace only", " \t\n "],
  ["an empty string", ""],
  ["emoji", "\u{1f525}\u{1f469}\u200d\u{1f4bb}"],
  ["a 10,000-character string", "x".repeat(10_000)],
  ["a 200,000-character string", "y".repeat(200_000)],
  ["a 10,000-character non-ASCII string", "\u00e9".repeat(10_000)],
  ["a newline-laden string", "a\r\nb\rc\n"],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a hostile string that looks like a template is the point
  ["a template-looking string", "${process.exit()}{{7*7}}"],
];

/** Numbers (as raw JSON) outside what any field accepts. */
export const nastyNumbers: readonly [label: string, value: Wire][] = [
  ["1e400 (Infinity when parsed)", new RawJson("1e400")],
  ["-1e400", new RawJson("-1e400")],
  ["1e-400 (underflows to 0)", new RawJson("1e-400")],
  ["-0", new RawJson("-0")],
  ["2^53 + 1", new RawJson("9007199254740993")],
  ["a 400-digit integer", new RawJson("9".repeat(400))],
  ["2^31", 2_147_483_648],
  ["-2^31 - 1", -2_147_483_649],
  ["-1", -1],
  ["0", 0],
  ["1.5", 1.5],
  ["1e21", new RawJson("1e21")],
];

/** Numeric-looking strings: must not be read as numbers where a number is expected. */
export const numericStrings: readonly string[] = [
  "Infinity",
  "-Infinity",
  "NaN",
  "1e400",
  "1e1",
  "0x10",
  "0o7",
  "0b1",
  "+5",
  "-5",
  " 5",
  "5 ",
  "1.0",
  "1.5",
  "1_000",
  "\u0661\u0662",
  "\uff15",
  "",
  "0",
  "00",
  "-0",
  "9".repeat(400),
  "5\u0000",
  "1,5",
  "true",
  "null",
];

/** Ids that are not ids: each must be a 404 (or 400/422), never a 500. */
export const badUuids: readonly string[] = [
  NIL_UUID,
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "not-a-uuid",
  "1",
  "{f9c9540b-6f27-5340-9892-b124143a6ae2}",
  "f9c9540b6f2753409892b124143a6ae2",
  "f9c9540b-6f27-5340-9892-b124143a6ae2\u0000",
  "F9C9540B-6F27-5340-9892-B124143A6AE2",
  "g9c9540b-6f27-5340-9892-b124143a6ae2",
  "f9c9540b-6f27-5340-9892-b124143a6ae22",
  "' OR '1'='1",
  "%",
  "\ud800",
  "x".repeat(5_000),
];

/** A cursor that decodes (base64url) to JSON of the wrong shape or types. */
const cursorOf = (json: string) => Buffer.from(json).toString("base64url");
export const forgedCursors: readonly [label: string, value: string][] = [
  ['[1e999,"a"]', cursorOf('[1e999,"a"]')],
  ['["x","y"]', cursorOf('["x","y"]')],
  ['[1,"not-a-uuid"]', cursorOf('[1,"not-a-uuid"]')],
  ['["2026-02-30T00:00:00Z",nil uuid]', cursorOf(`["2026-02-30T00:00:00Z","${NIL_UUID}"]`)],
  ['["99999-01-01",uuid]', cursorOf(`["99999-01-01","${NIL_UUID}"]`)],
  ["[-1,uuid]", cursorOf(`[-1,"${NIL_UUID}"]`)],
  ["[1.5e308,uuid]", cursorOf(`[1.5e308,"${NIL_UUID}"]`)],
  ['["\\u0000","\\u0000"]', cursorOf('["\\u0000","\\u0000"]')],
  ['["%","_"]', cursorOf('["%","_"]')],
  ["[null,null]", cursorOf("[null,null]")],
  ["[{},[]]", cursorOf("[{},[]]")],
  ["[1,2,3]", cursorOf("[1,2,3]")],
  ['{"key":1}', cursorOf('{"key":1}')],
  ["a deep array", cursorOf(`${"[".repeat(3_000)}${"]".repeat(3_000)}`)],
  ["not base64", "!!!***"],
  ["base64 of garbage bytes", Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString("base64url")],
  ["a 2,000-character cursor", "A".repeat(2_000)],
];

/** Dates that look right but are not. */
export const badDates: readonly string[] = ["2026-02-30", "2026-13-01", "0000-00-00", "9999-99-99T99:99:99Z", "+275760-09-13", "2026-02-28T25:00:00Z", "yesterday"];

/** Any value of any other type, including the deep and the raw. */
export const wrongTypes: readonly [label: string, value: Wire][] = [
  ["null", null],
  ["true", true],
  ["a number", 42],
  ["a string", "text"],
  ["an empty array", []],
  ["an array of numbers", [1, 2, 3]],
  ["an empty object", {}],
  ["an operator object", { $gt: "", $ne: null }],
  ["a __proto__ object", new RawJson('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')],
  [`an array nested ${DEPTH} deep`, deepArray()],
  [`an object nested ${DEPTH} deep`, deepObject()],
  ["an object nested 64 deep", deepObject(64)],
  ["an array of 100,000 zeros", new RawJson(`[${"0,".repeat(99_999)}0]`)],
];

/** Keys that collide with Object.prototype when an object is used as a map. */
export const protoKeys: readonly string[] = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", "prototype", "isPrototypeOf"];

export type Labelled = { readonly label: string; readonly value: Wire };

const labelled = (entries: readonly (readonly [string, Wire])[]): fc.Arbitrary<Labelled> => fc.constantFrom(...entries).map(([label, value]) => ({ label, value }));

/** A malformed value for a field whose expected shape is `kind`. */
export function badValue(kind: "string" | "uuid" | "integer" | "number" | "boolean" | "enum" | "json" | "array" | "object" | "date"): fc.Arbitrary<Labelled> {
  const strings = labelled(nastyStrings);
  const numbers = labelled(nastyNumbers);
  const numeric = labelled(numericStrings.map((value) => [`the string ${JSON.stringify(value.slice(0, 20))}`, value] as const));
  const uuids = labelled(badUuids.map((value) => [`the id ${JSON.stringify(value.slice(0, 40))}`, value] as const));
  const types = labelled(wrongTypes);
  const dates = labelled(badDates.map((value) => [`the date ${value}`, value] as const));
  const cursors = labelled(forgedCursors.map(([label, value]) => [`a cursor of ${label}`, value] as const));
  switch (kind) {
    case "string":
      return fc.oneof({ arbitrary: strings, weight: 5 }, { arbitrary: types, weight: 2 }, { arbitrary: numbers, weight: 1 });
    case "uuid":
      return fc.oneof({ arbitrary: uuids, weight: 4 }, { arbitrary: strings, weight: 2 }, { arbitrary: types, weight: 1 });
    case "integer":
    case "number":
      return fc.oneof({ arbitrary: numbers, weight: 4 }, { arbitrary: numeric, weight: 3 }, { arbitrary: types, weight: 1 });
    case "boolean":
    case "enum":
      return fc.oneof(
        labelled([
          ["lower case", "public"],
          ["padded", " PUBLIC "],
          ["with NUL", "PUBLIC\u0000"],
          ["unknown", "SECRET"],
          ["the number 1", 1],
          ["the string true", "true"],
        ]),
        strings,
        types,
      );
    case "date":
      return fc.oneof({ arbitrary: dates, weight: 4 }, { arbitrary: strings, weight: 1 }, { arbitrary: numbers, weight: 1 });
    case "json":
      return fc.oneof({ arbitrary: types, weight: 3 }, numbers, strings, dates, cursors);
    case "array":
    case "object":
      return fc.oneof({ arbitrary: types, weight: 3 }, strings, numbers);
  }
}

export const anyCursor = (): fc.Arbitrary<Labelled> => labelled(forgedCursors.map(([label, value]) => [`a cursor of ${label}`, value] as const));
