/**
 * Turns the route table into what serving needs, once at start-up: a path matcher, ajv validators
 * for path, query and body, the operations to run, and the JSON Schemas the OpenAPI document
 * publishes. A route that names a missing operation, field or type fails here, not on a request.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import type { DataValidateFunction } from "ajv/dist/types/index.js";
import addFormatsModule from "ajv-formats";
import {
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  Kind,
  getNamedType,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
} from "graphql";
import { ID_PATTERN, jsonValueProblem, type JsonValueBounds } from "../../../platform/input-rules.ts";
import {
  COMPONENT_REF,
  JSON_VALUE_KEYWORD,
  inputObjectSchema,
  withJsonValueBounds,
  nonNullInputSchema,
  nonNullSelectionSchema,
  requireEnum,
  requireInputObject,
  type JsonSchema,
} from "./json-schema.ts";
import type { CatalogOperation, OperationCatalog } from "./operations.ts";
import type { FieldError } from "./problem.ts";
import type { HttpMethod, RouteDefinition } from "./route.ts";

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = addFormatsModule.default;

/** REST page sizes: smaller than GraphQL's 1,000 maximum, as the v1 API always was. */
export const PAGE_LIMIT = { default: 25, maximum: 100 } as const;

export interface CompiledRoute {
  readonly definition: RouteDefinition;
  readonly method: HttpMethod;
  readonly operation: CatalogOperation;
  readonly current?: { readonly operation: CatalogOperation; readonly select: readonly string[] };
  readonly exists?: { readonly operation: CatalogOperation; readonly select: readonly string[] };
  readonly select: readonly string[];
  match(path: string): Record<string, string> | null;
  readonly pathParameters: Readonly<Record<string, JsonSchema>>;
  readonly queryParameters: Readonly<Record<string, JsonSchema>>;
  /** Query parameters a request must carry. */
  readonly requiredQuery: readonly string[];
  readonly body?: JsonSchema;
  /** The success response body, or undefined for 204. */
  readonly response?: JsonSchema;
  /** GraphQL argument names (`after`, `filter.search`) to the REST parameters partners sent (`cursor`, `search`). */
  readonly fieldNames: Readonly<Record<string, string>>;
  /** Path parameters whose values are GraphQL enum values in lower case. */
  readonly enumParameters: ReadonlySet<string>;
  validatePath(params: Record<string, string>): FieldError[] | null;
  /** Validates and coerces (strings to numbers and booleans) in place. */
  validateQuery(query: Record<string, unknown>): FieldError[] | null;
  validateBody(body: unknown): FieldError[] | null;
}

function ajvInstance(coerceTypes: boolean): Ajv2020 {
  // strictNumbers: `1e400` parses to Infinity, which no number field may hold (JSON cannot carry it).
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, coerceTypes, useDefaults: coerceTypes, strictNumbers: true });
  addFormats(ajv, ["date-time", "uri"]);
  // The subgraphs' id rule, not any 8-4-4-4-12 hex: the nil UUID is refused here as everywhere.
  ajv.addFormat("uuid", ID_PATTERN);
  // JSON Schema annotations OpenAPI adds; ajv must accept them in the schemas it compiles.
  ajv.addKeyword({ keyword: "example" });
  ajv.addKeyword({
    keyword: JSON_VALUE_KEYWORD,
    schemaType: "object",
    errors: true,
    validate: jsonValueKeyword,
  });
  return ajv;
}

/** ajv's keyword function for JSON_VALUE_KEYWORD: the shared JSON value rules, one error naming where. */
const jsonValueKeyword = Object.assign(
  (bounds: JsonValueBounds, data: unknown): boolean => {
    const problem = jsonValueProblem(data, bounds);
    jsonValueKeyword.errors = problem
      ? [{ keyword: JSON_VALUE_KEYWORD, message: `${problem.path.length > 0 ? `at ${problem.path.join("/")} ` : ""}${problem.message}`, params: {} }]
      : undefined;
    return problem === null;
  },
  { errors: undefined as DataValidateFunction["errors"] },
);

/** Digits only, as partners write numbers in URLs: no `0x10`, `+5`, `1e1`, ` 5`, `Infinity`. */
const DECIMAL_INTEGER = /^-?[0-9]{1,15}$/;
const DECIMAL_NUMBER = /^-?[0-9]{1,15}(?:\.[0-9]{1,15})?$/;

/** Query parameters that ajv would coerce with `Number()` (hex, exponents, signs, Infinity) checked first. */
function strictNumbers(parameters: Readonly<Record<string, JsonSchema>>, query: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(query)) {
    const type = parameters[name]?.type;
    if (typeof value !== "string") continue;
    if (type === "integer" && !DECIMAL_INTEGER.test(value)) errors.push({ field: name, message: "must be a decimal integer" });
    if (type === "number" && !DECIMAL_NUMBER.test(value)) errors.push({ field: name, message: "must be a decimal number" });
  }
  return errors;
}

/** Free-text query parameters (`search`): as long as the subgraphs accept. */
const MAX_QUERY_TEXT = 200;

/** ajv's errors as `{ field, message }`, fields as JSON Pointer-ish paths without the leading slash. */
/** Field errors reported at most: a body of 100,000 wrong entries must not answer 100,000 of them (8 MB). */
export const MAX_FIELD_ERRORS = 50;

export function fieldErrors(errors: readonly ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).slice(0, MAX_FIELD_ERRORS).map((error) => {
    const base = error.instancePath.replace(/^\//, "");
    const params = error.params as { missingProperty?: string; additionalProperty?: string };
    if (error.keyword === "required" && params.missingProperty) {
      return { field: base ? `${base}/${params.missingProperty}` : params.missingProperty, message: "is required" };
    }
    if (error.keyword === "additionalProperties" && params.additionalProperty) {
      return { field: base ? `${base}/${params.additionalProperty}` : params.additionalProperty, message: "is not a known field" };
    }
    return { field: base, message: error.message ?? "is invalid" };
  });
}

function check(validate: ValidateFunction, value: unknown): FieldError[] | null {
  return validate(value) ? null : fieldErrors(validate.errors);
}

interface Walked {
  readonly type: GraphQLOutputType;
  readonly selection: SelectionSetNode | undefined;
}

/** Follows a dotted response path through an operation's selection and the schema's types. */
function walk(schema: GraphQLSchema, operation: CatalogOperation, path: readonly string[]): Walked {
  const root = operation.definition.operation === "mutation" ? schema.getMutationType() : schema.getQueryType();
  if (!root) throw new Error(`The API schema has no ${operation.definition.operation} type`);
  let type: GraphQLOutputType = root;
  let selection: SelectionSetNode | undefined = operation.definition.selectionSet;
  for (const key of path) {
    const parent: GraphQLNamedType = getNamedType(type);
    const node: FieldNode | undefined = selection?.selections.find(
      (candidate): candidate is FieldNode => candidate.kind === Kind.FIELD && (candidate.alias?.value ?? candidate.name.value) === key,
    );
    if (!(parent instanceof GraphQLObjectType) || !node) throw new Error(`${operation.name} selects no ${path.join(".")}`);
    const field: GraphQLField<unknown, unknown> | undefined = parent.getFields()[node.name.value];
    if (!field) throw new Error(`${parent.name}.${node.name.value} does not exist`);
    type = field.type;
    selection = node.selectionSet;
  }
  return { type, selection };
}

function fieldOf(walked: Walked, key: string): Walked {
  const parent = getNamedType(walked.type);
  const node = walked.selection?.selections.find((candidate): candidate is FieldNode => candidate.kind === Kind.FIELD && candidate.name.value === key);
  if (!(parent instanceof GraphQLObjectType) || !node) throw new Error(`expected a connection selecting ${key}`);
  return { type: (parent.getFields()[key] as { type: GraphQLOutputType }).type, selection: node.selectionSet };
}

function responseSchema(definition: RouteDefinition, walked: Walked): JsonSchema | undefined {
  switch (definition.kind) {
    case "delete":
      return undefined;
    case "page": {
      const nodes = fieldOf(walked, "nodes");
      fieldOf(walked, "pageInfo");
      return {
        type: "object",
        properties: {
          data: nonNullSelectionSchema(nodes.type, nodes.selection),
          nextCursor: { type: ["string", "null"], description: "Pass as `cursor` for the next page; null on the last page." },
        },
        required: ["data", "nextCursor"],
        additionalProperties: false,
      };
    }
    case "list": {
      const inner = walked.type instanceof GraphQLNonNull ? walked.type.ofType : walked.type;
      if (!(inner instanceof GraphQLList)) throw new Error(`${definition.operationId}: a list route must select a list`);
      return { type: "object", properties: { data: nonNullSelectionSchema(walked.type, walked.selection) }, required: ["data"], additionalProperties: false };
    }
    default:
      return nonNullSelectionSchema(walked.type, walked.selection);
  }
}

const PARAMETER = /\{(\w+)\}/g;

export function compileRoutes(routes: readonly RouteDefinition[], catalog: OperationCatalog, schema: GraphQLSchema): CompiledRoute[] {
  const bodies = ajvInstance(false);
  const parameters = ajvInstance(true);
  return routes.map((definition): CompiledRoute => {
    const operation = catalog.operation(definition.operation);
    const select = definition.select.split(".");
    const walked = walk(schema, operation, select);
    const names = [...definition.path.matchAll(PARAMETER)].map((match) => match[1] as string);
    const pattern = new RegExp(`^${definition.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(PARAMETER, "([^/]+)")}$`);

    const pathParameters: Record<string, JsonSchema> = {};
    const enumParameters = new Set<string>();
    for (const name of names) {
      const declared = definition.params?.[name];
      if (declared?.enum) {
        enumParameters.add(name);
        const values = requireEnum(schema, declared.enum)
          .getValues()
          .map((value) => value.name.toLowerCase());
        pathParameters[name] = { type: "string", enum: values, description: declared.description };
      } else {
        pathParameters[name] = { type: "string", format: "uuid", description: declared?.description ?? "A UUID." };
      }
    }

    const queryParameters: Record<string, JsonSchema> = {};
    if (definition.kind === "page") {
      queryParameters.limit = { type: "integer", minimum: 1, maximum: PAGE_LIMIT.maximum, default: PAGE_LIMIT.default, description: "Page size." };
      queryParameters.cursor = {
        type: "string",
        minLength: 1,
        maxLength: 1000,
        description: '`nextCursor` of the previous page (also in its `Link: rel="next"`).',
      };
    }
    if (definition.filters) {
      for (const field of Object.values(requireInputObject(schema, definition.filters).getFields())) {
        let fieldSchema = nonNullInputSchema(field.type);
        if (fieldSchema.type === "string" && fieldSchema.format === undefined && fieldSchema.enum === undefined)
          fieldSchema = { ...fieldSchema, maxLength: MAX_QUERY_TEXT };
        queryParameters[field.name] = field.description ? { ...fieldSchema, description: field.description } : fieldSchema;
      }
    }

    const requiredQuery: string[] = [];
    const argumentNames: [string, string][] = [];
    for (const [name, parameter] of Object.entries(definition.query ?? {})) {
      queryParameters[name] = parameter.schema;
      if (parameter.required) requiredQuery.push(name);
      if (parameter.argument) argumentNames.push([parameter.argument, name]);
    }

    const body = definition.body ? inputObjectSchema(requireInputObject(schema, definition.body.input), definition.body) : undefined;
    const validatePathFn = parameters.compile({ type: "object", properties: pathParameters, required: names, additionalProperties: false });
    const validateQueryFn = parameters.compile({ type: "object", properties: queryParameters, required: requiredQuery, additionalProperties: false });
    // Body schemas are self-contained (no $ref), so they compile without the component registry.
    const validateBodyFn = body ? bodies.compile(withJsonValueBounds(body) as JsonSchema) : undefined;
    if (body && JSON.stringify(body).includes(COMPONENT_REF)) throw new Error(`${definition.operationId}: body schemas must be inline`);

    const current = definition.concurrency?.current
      ? { operation: catalog.operation(definition.concurrency.current.operation), select: definition.concurrency.current.select.split(".") }
      : undefined;
    if (current) {
      // The current-version read takes the resource's id from the `{id}` path parameter.
      if (!names.includes("id")) throw new Error(`${definition.operationId}: concurrency.current needs an {id} path parameter`);
      walk(schema, current.operation, [...current.select, "version"]);
    }
    const exists = definition.exists ? { operation: catalog.operation(definition.exists.operation), select: definition.exists.select.split(".") } : undefined;
    if (exists) {
      if (!names.includes("id")) throw new Error(`${definition.operationId}: exists needs an {id} path parameter`);
      walk(schema, exists.operation, exists.select);
    }

    return {
      definition,
      method: definition.method,
      operation,
      current,
      exists,
      select,
      pathParameters,
      queryParameters,
      requiredQuery,
      body,
      response: responseSchema(definition, walked),
      enumParameters,
      fieldNames: Object.fromEntries([
        ["after", "cursor"],
        ["first", "limit"],
        ...Object.keys(queryParameters).map((name) => [`filter.${name}`, name]),
        ...argumentNames,
      ]),
      match(path) {
        const found = pattern.exec(path);
        if (!found) return null;
        const params: Record<string, string> = {};
        try {
          names.forEach((name, index) => {
            params[name] = decodeURIComponent(found[index + 1] as string);
          });
        } catch {
          return null; // a malformed %-escape names no resource
        }
        return params;
      },
      validatePath: (params) => check(validatePathFn, params),
      validateQuery: (query) => {
        const malformed = strictNumbers(queryParameters, query);
        return malformed.length > 0 ? malformed : check(validateQueryFn, query);
      },
      validateBody: (value) => (validateBodyFn ? check(validateBodyFn, value) : null),
    };
  });
}
