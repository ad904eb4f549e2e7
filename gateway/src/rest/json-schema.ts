/**
 * JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) derived from the public GraphQL schema:
 * response shapes from an operation's selection set, request bodies and query parameters from
 * input types. The REST layer validates with these and the OpenAPI document publishes them, so the
 * documented shape, the validated shape and the GraphQL types cannot drift apart.
 */
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  Kind,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
} from "graphql";
import { JSON_VALUE_BOUNDS } from "../../../platform/input-rules.ts";

/** A JSON Schema object; kept structural so it serialises into the OpenAPI document as is. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** Where component schemas live in the OpenAPI document (and so where `$ref`s point). */
export const COMPONENT_REF = "#/components/schemas/";

const INT32 = { minimum: -2_147_483_648, maximum: 2_147_483_647 };

/**
 * Marks the schema of a free-form JSON input (the JSON scalar). JSON Schema has no keyword for
 * depth, so the published document describes the bounds in words, and the REST layer validates
 * with a copy where each marked schema carries its own ajv keyword (`withJsonValueBounds`). A
 * symbol, so it survives spreads but never reaches the served document.
 */
const JSON_VALUE = Symbol("json-value");

/** The ajv keyword the REST layer's validators check free-form JSON inputs with. */
export const JSON_VALUE_KEYWORD = "x-json-value";

const JSON_VALUE_DESCRIPTION = `Any JSON value, nested at most ${JSON_VALUE_BOUNDS.maxDepth} levels deep and at most ${JSON_VALUE_BOUNDS.maxLength} characters as JSON; finite numbers only, no U+0000 or unpaired surrogates in strings.`;

/** A copy of `schema` in which every free-form JSON input carries JSON_VALUE_KEYWORD with its bounds. */
export function withJsonValueBounds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withJsonValueBounds);
  if (schema === null || typeof schema !== "object") return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = withJsonValueBounds(value);
  if (JSON_VALUE in schema) copy[JSON_VALUE_KEYWORD] = { ...JSON_VALUE_BOUNDS };
  return copy;
}

function scalarSchema(type: GraphQLScalarType, direction: "input" | "output"): Record<string, unknown> {
  switch (type.name) {
    case "ID":
      // Every id of this API is a UUID; saying so lets a partner's client refuse a typo early.
      return direction === "input" ? { type: "string", format: "uuid" } : { type: "string" };
    case "String":
      return { type: "string" };
    case "Int":
      return { type: "integer", ...INT32 };
    case "Float":
      return { type: "number" };
    case "Boolean":
      return { type: "boolean" };
    case "DateTime":
      return { type: "string", format: "date-time" };
    case "JSON":
      // Free-form, but bounded (depth, size, finite numbers, no NUL): see JSON_VALUE.
      return direction === "input" ? { description: JSON_VALUE_DESCRIPTION, [JSON_VALUE]: true } : { description: type.description ?? "Any JSON value." };
    default:
      throw new Error(`No JSON Schema mapping for the GraphQL scalar ${type.name}`);
  }
}

/** Adds null to a schema: into `type`/`enum` where they exist, otherwise as an alternative. */
function orNull(schema: Record<string, unknown>): Record<string, unknown> {
  if ("$ref" in schema) return { anyOf: [schema, { type: "null" }] };
  if (schema.type === undefined) return schema; // JSON: already anything, null included
  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
  const nullable: Record<string, unknown> = { ...schema, type: [...types, "null"] };
  if (Array.isArray(schema.enum)) nullable.enum = [...(schema.enum as unknown[]), null];
  return nullable;
}

function enumSchema(type: GraphQLEnumType): Record<string, unknown> {
  return { type: "string", enum: type.getValues().map((value) => value.value as string) };
}

function describe(schema: Record<string, unknown>, description: string | null | undefined): Record<string, unknown> {
  return description ? { ...schema, description } : schema;
}

/**
 * The schema of what a selection returns. A selection that is exactly one fragment spread becomes
 * a `$ref` to the component of that fragment's name; fields are `required` (GraphQL always returns
 * every selected field) and nothing else is allowed.
 */
export function selectionSchema(type: GraphQLOutputType, selection: SelectionSetNode | undefined): Record<string, unknown> {
  if (type instanceof GraphQLNonNull) return nonNullSelectionSchema(type.ofType, selection);
  return orNull(nonNullSelectionSchema(type, selection));
}

/** As selectionSchema, for a value known to be there (a resource a route answers with). */
export function nonNullSelectionSchema(type: GraphQLOutputType, selection: SelectionSetNode | undefined): Record<string, unknown> {
  if (type instanceof GraphQLNonNull) return nonNullSelectionSchema(type.ofType, selection);
  if (type instanceof GraphQLList) return { type: "array", items: selectionSchema(type.ofType, selection) };
  if (type instanceof GraphQLScalarType) return scalarSchema(type, "output");
  if (type instanceof GraphQLEnumType) return enumSchema(type);
  if (!(type instanceof GraphQLObjectType)) throw new Error(`REST operations select only object types, not ${type.toString()}`);
  if (!selection) throw new Error(`${type.name} needs a selection`);
  const only = selection.selections[0];
  if (selection.selections.length === 1 && only?.kind === Kind.FRAGMENT_SPREAD) return { $ref: `${COMPONENT_REF}${only.name.value}` };
  const fields = type.getFields();
  const properties: Record<string, unknown> = {};
  for (const node of selection.selections) {
    if (node.kind !== Kind.FIELD) throw new Error(`Mix fields and fragment spreads in separate selections (${type.name})`);
    if (node.name.value === "__typename") continue;
    const field = fields[node.name.value];
    if (!field) throw new Error(`${type.name}.${node.name.value} does not exist`);
    properties[node.alias?.value ?? node.name.value] = describe(selectionSchema(field.type, node.selectionSet), field.description);
  }
  return { type: "object", properties, required: Object.keys(properties), additionalProperties: false };
}

/** The schema of a value of an input type: what a request body or query parameter may carry. */
export function inputSchema(type: GraphQLInputType): Record<string, unknown> {
  if (type instanceof GraphQLNonNull) return nonNullInputSchema(type.ofType);
  return orNull(nonNullInputSchema(type));
}

/** As inputSchema, without null (query and path parameters). */
export function nonNullInputSchema(type: GraphQLInputType): Record<string, unknown> {
  if (type instanceof GraphQLNonNull) return nonNullInputSchema(type.ofType);
  if (type instanceof GraphQLList) return { type: "array", items: inputSchema(type.ofType) };
  if (type instanceof GraphQLScalarType) return scalarSchema(type, "input");
  if (type instanceof GraphQLEnumType) return enumSchema(type);
  return inputObjectSchema(type, {});
}

export interface InputObjectOptions {
  /** Fields the route fills itself (path parameters, If-Match). */
  readonly omit?: readonly string[];
  /** Fields required here although GraphQL lets them be absent (PUT's whole value). */
  readonly require?: readonly string[];
  /** Nullable fields for which null is refused (PATCH: absent means unchanged, null is not a value). */
  readonly nonNull?: readonly string[];
  readonly minProperties?: number;
}

/**
 * An input object as a closed JSON object: GraphQL's non-null fields without a default are
 * required, and fields GraphQL does not know are refused (`additionalProperties: false`).
 */
export function inputObjectSchema(type: GraphQLInputObjectType, options: InputObjectOptions): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const field of Object.values(type.getFields())) {
    if (options.omit?.includes(field.name)) continue;
    const nonNull = options.nonNull?.includes(field.name);
    const fieldType = nonNull && !(field.type instanceof GraphQLNonNull) ? new GraphQLNonNull(field.type) : field.type;
    properties[field.name] = describe(inputSchema(fieldType), field.description);
    if ((field.type instanceof GraphQLNonNull && field.defaultValue === undefined) || options.require?.includes(field.name)) required.push(field.name);
  }
  const schema: Record<string, unknown> = { type: "object", properties, additionalProperties: false };
  if (required.length > 0) schema.required = required;
  if (options.minProperties !== undefined) schema.minProperties = options.minProperties;
  return describe(schema, type.description);
}

export function requireInputObject(schema: GraphQLSchema, name: string): GraphQLInputObjectType {
  const type = schema.getType(name);
  if (!(type instanceof GraphQLInputObjectType)) throw new Error(`${name} is not an input type of the API schema`);
  return type;
}

export function requireEnum(schema: GraphQLSchema, name: string): GraphQLEnumType {
  const type = schema.getType(name);
  if (!(type instanceof GraphQLEnumType)) throw new Error(`${name} is not an enum of the API schema`);
  return type;
}
