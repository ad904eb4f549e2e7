// gateway/src/rest/json-schema.ts on its own (no services): JSON Schema (draft 2020-12) derived
// from a GraphQL schema. Responses: every selected field required, nothing else allowed, nullable
// types take null, a lone fragment spread is a $ref. Inputs: closed objects whose non-null fields
// without a default are required, ids are UUIDs, Int is 32-bit, and free-form JSON is bounded (a
// marker only withJsonValueBounds turns into a keyword). Checked structurally and with ajv.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import {
  GraphQLList,
  GraphQLNonNull,
  type GraphQLScalarType,
  Kind,
  buildSchema,
  parse,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { JSON_VALUE_BOUNDS } from "../platform/input-rules.ts";
import {
  COMPONENT_REF,
  JSON_VALUE_KEYWORD,
  inputObjectSchema,
  inputSchema,
  nonNullInputSchema,
  nonNullSelectionSchema,
  requireEnum,
  requireInputObject,
  selectionSchema,
  withJsonValueBounds,
} from "../gateway/src/rest/json-schema.ts";

const addFormats = addFormatsModule.default;

const schema = buildSchema(`
  scalar DateTime
  "Any JSON value."
  scalar JSON
  scalar Upload

  enum Role { OWNER MEMBER }

  "A board."
  type Board {
    id: ID!
    "The board's name."
    name: String!
    description: String
    position: Float!
    itemCount: Int!
    archived: Boolean
    createdAt: DateTime!
    settings: JSON
    role: Role
    owner: User
    tags: [String!]!
    members: [User]
  }
  type User { id: ID! email: String! }
  type Query { board(id: ID!): Board boards: [Board!]! }

  "What a new board is made of."
  input CreateBoardInput {
    workspaceId: ID!
    "Shown in lists."
    name: String!
    description: String
    position: Float = 0
    limit: Int! = 10
    role: Role
    settings: JSON
    tags: [String!]
    owners: [ID!]
  }
`);

const query = schema.getQueryType() as GraphQLObjectType;

/** The selection set of the (only) root field of `source`, and that field's type. */
function selectionOf(source: string): { type: GraphQLOutputType; selection: SelectionSetNode | undefined } {
  const document = parse(source);
  const operation = document.definitions[0] as OperationDefinitionNode;
  const root = operation.selectionSet.selections[0];
  assert.ok(root?.kind === Kind.FIELD);
  const field = query.getFields()[root.name.value];
  assert.ok(field);
  return { type: field.type, selection: root.selectionSet };
}

function ajv(): Ajv2020 {
  const instance = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, strictNumbers: true });
  addFormats(instance, ["date-time", "uuid"]);
  instance.addKeyword({ keyword: JSON_VALUE_KEYWORD, schemaType: "object" });
  return instance;
}

const UUID = "6f1c2b9e-3d4a-4b5c-8d6e-7f8091a2b3c4";

describe("selectionSchema (responses)", () => {
  it("makes every selected field required and allows nothing else", () => {
    const { type, selection } = selectionOf("{ board(id: 1) { id name } }");
    assert.deepEqual(nonNullSelectionSchema(type, selection), {
      type: "object",
      properties: { id: { type: "string" }, name: { type: "string", description: "The board's name." } },
      required: ["id", "name"],
      additionalProperties: false,
    });
  });

  it("takes null for a nullable result and for nullable fields, not for non-null ones", () => {
    const { type, selection } = selectionOf("{ board(id: 1) { description archived position role } }");
    const result = selectionSchema(type, selection);
    assert.deepEqual(result.type, ["object", "null"], "the board itself may be null");
    assert.deepEqual(result.properties, {
      description: { type: ["string", "null"] },
      archived: { type: ["boolean", "null"] },
      position: { type: "number" },
      role: { type: ["string", "null"], enum: ["OWNER", "MEMBER", null] },
    });
  });

  it("maps the scalars: ID and String to strings, Int to 32-bit integers, DateTime to date-time, JSON to anything", () => {
    const { type, selection } = selectionOf("{ board(id: 1) { id itemCount createdAt settings } }");
    assert.deepEqual(nonNullSelectionSchema(type, selection).properties, {
      id: { type: "string" },
      itemCount: { type: "integer", minimum: -2_147_483_648, maximum: 2_147_483_647 },
      createdAt: { type: "string", format: "date-time" },
      settings: { description: "Any JSON value." },
    });
  });

  it("names properties by alias and leaves __typename out", () => {
    const { type, selection } = selectionOf("{ board(id: 1) { __typename key: id title: name } }");
    const result = nonNullSelectionSchema(type, selection);
    assert.deepEqual(Object.keys(result.properties as object), ["key", "title"]);
    assert.deepEqual(result.required, ["key", "title"]);
  });

  it("describes lists as arrays of their items, nested objects as closed objects", () => {
    const { type, selection } = selectionOf("{ boards { tags members { id } owner { email } } }");
    assert.deepEqual(nonNullSelectionSchema(type, selection), {
      type: "array",
      items: {
        type: "object",
        properties: {
          tags: { type: "array", items: { type: "string" } },
          members: {
            type: ["array", "null"],
            items: { type: ["object", "null"], properties: { id: { type: "string" } }, required: ["id"], additionalProperties: false },
          },
          owner: { type: ["object", "null"], properties: { email: { type: "string" } }, required: ["email"], additionalProperties: false },
        },
        required: ["tags", "members", "owner"],
        additionalProperties: false,
      },
    });
  });

  it("makes a selection of exactly one fragment spread a $ref to the component of its name (nullable: or null)", () => {
    const { type, selection } = selectionOf("{ board(id: 1) { ...BoardFields } }");
    assert.deepEqual(nonNullSelectionSchema(type, selection), { $ref: `${COMPONENT_REF}BoardFields` });
    assert.deepEqual(selectionSchema(type, selection), { anyOf: [{ $ref: "#/components/schemas/BoardFields" }, { type: "null" }] });
  });

  it("refuses fields mixed with fragment spreads, unknown fields, and objects without a selection", () => {
    const mixed = selectionOf("{ board(id: 1) { id ...BoardFields } }");
    assert.throws(() => nonNullSelectionSchema(mixed.type, mixed.selection), /Mix fields and fragment spreads in separate selections \(Board\)/);
    const unknown = selectionOf("{ board(id: 1) { id nope } }");
    assert.throws(() => nonNullSelectionSchema(unknown.type, unknown.selection), /Board\.nope does not exist/);
    const bare = selectionOf("{ board(id: 1) }");
    assert.throws(() => nonNullSelectionSchema(bare.type, bare.selection), /Board needs a selection/);
  });

  it("validates what GraphQL returns and refuses what it never would", () => {
    const { type, selection } = selectionOf("{ board(id: 1) { id name description itemCount createdAt } }");
    const validate = ajv().compile(selectionSchema(type, selection));
    assert.equal(validate({ id: UUID, name: "Roadmap", description: null, itemCount: 3, createdAt: "2025-12-09T09:00:00.000Z" }), true, JSON.stringify(validate.errors));
    assert.equal(validate(null), true);
    assert.equal(validate({ id: UUID, name: "Roadmap", description: null, itemCount: 3 }), false, "a selected field missing");
    assert.equal(validate({ id: UUID, name: "Roadmap", description: null, itemCount: 3, createdAt: "2025-12-09T09:00:00.000Z", extra: 1 }), false, "a field not selected");
    assert.equal(validate({ id: UUID, name: null, description: null, itemCount: 3, createdAt: "2025-12-09T09:00:00.000Z" }), false, "null in a non-null field");
    assert.equal(validate({ id: UUID, name: "Roadmap", description: null, itemCount: 2 ** 31, createdAt: "2025-12-09T09:00:00.000Z" }), false, "beyond Int");
    assert.equal(validate({ id: UUID, name: "Roadmap", description: null, itemCount: 3, createdAt: "yesterday" }), false, "not a date-time");
  });
});

describe("inputSchema / inputObjectSchema (request bodies and parameters)", () => {
  const input = requireInputObject(schema, "CreateBoardInput");

  it("is a closed object: non-null fields without a default are required, the rest optional", () => {
    const result = inputObjectSchema(input, {});
    assert.equal(result.type, "object");
    assert.equal(result.additionalProperties, false);
    assert.equal(result.description, "What a new board is made of.");
    // `limit` is non-null but has a default: GraphQL fills it in, so it may be absent.
    assert.deepEqual(result.required, ["workspaceId", "name"]);
    assert.deepEqual(Object.keys(result.properties as object), ["workspaceId", "name", "description", "position", "limit", "role", "settings", "tags", "owners"]);
  });

  it("maps input ids to UUIDs, nullable fields to their type or null, and keeps field descriptions", () => {
    const properties = inputObjectSchema(input, {}).properties as Record<string, Record<string, unknown>>;
    assert.deepEqual(properties.workspaceId, { type: "string", format: "uuid" });
    assert.deepEqual(properties.name, { type: "string", description: "Shown in lists." });
    assert.deepEqual(properties.description, { type: ["string", "null"] });
    assert.deepEqual(properties.position, { type: ["number", "null"] });
    assert.deepEqual(properties.limit, { type: "integer", minimum: -2_147_483_648, maximum: 2_147_483_647 });
    assert.deepEqual(properties.role, { type: ["string", "null"], enum: ["OWNER", "MEMBER", null] });
    assert.deepEqual(properties.tags, { type: ["array", "null"], items: { type: "string" } });
    assert.deepEqual(properties.owners, { type: ["array", "null"], items: { type: "string", format: "uuid" } });
  });

  it("omits the fields a route fills itself, requires what the route requires, refuses null where asked", () => {
    const result = inputObjectSchema(input, { omit: ["workspaceId"], require: ["description"], nonNull: ["description", "position"], minProperties: 1 });
    const properties = result.properties as Record<string, Record<string, unknown>>;
    assert.equal(properties.workspaceId, undefined);
    assert.deepEqual(result.required, ["name", "description"]);
    assert.deepEqual(properties.description, { type: "string" });
    assert.deepEqual(properties.position, { type: "number" });
    assert.equal(result.minProperties, 1);
  });

  it("leaves required out when nothing is required", () => {
    const result = inputObjectSchema(input, { omit: ["workspaceId", "name"] });
    assert.equal("required" in result, false);
    assert.equal("minProperties" in result, false);
  });

  it("takes null for a nullable input, not for a non-null one", () => {
    assert.deepEqual(inputSchema(requireEnum(schema, "Role")), { type: ["string", "null"], enum: ["OWNER", "MEMBER", null] });
    assert.deepEqual(inputSchema(new GraphQLNonNull(requireEnum(schema, "Role"))), { type: "string", enum: ["OWNER", "MEMBER"] });
    assert.deepEqual(nonNullInputSchema(new GraphQLList(new GraphQLNonNull(schema.getType("ID") as GraphQLScalarType))), { type: "array", items: { type: "string", format: "uuid" } });
  });

  it("validates bodies as the subgraphs would accept them", () => {
    const validate = ajv().compile(withJsonValueBounds(inputObjectSchema(input, {})) as object);
    assert.equal(validate({ workspaceId: UUID, name: "Roadmap" }), true, JSON.stringify(validate.errors));
    assert.equal(
      validate({ workspaceId: UUID, name: "Roadmap", description: null, position: 1.5, limit: 5, role: "OWNER", settings: { a: [1] }, tags: ["x"], owners: [UUID] }),
      true,
      JSON.stringify(validate.errors),
    );
    assert.equal(validate({ name: "Roadmap" }), false, "workspaceId missing");
    assert.equal(validate({ workspaceId: "board-1", name: "Roadmap" }), false, "not a UUID");
    assert.equal(validate({ workspaceId: UUID, name: "Roadmap", unknown: 1 }), false, "a field GraphQL does not know");
    assert.equal(validate({ workspaceId: UUID, name: "Roadmap", role: "ADMIN" }), false, "not a value of the enum");
    assert.equal(validate({ workspaceId: UUID, name: "Roadmap", limit: null }), false, "null in a non-null field (with a default)");
    assert.equal(validate({ workspaceId: UUID, name: "Roadmap", limit: 1.5 }), false, "not an integer");
    assert.equal(validate({ workspaceId: UUID, name: "Roadmap", tags: [null] }), false, "null item of a non-null list");
  });
});

describe("free-form JSON inputs", () => {
  const input = requireInputObject(schema, "CreateBoardInput");

  it("are described in words in the published schema, with no keyword and no trace of the marker", () => {
    const settings = (inputObjectSchema(input, {}).properties as Record<string, Record<string, unknown>>).settings;
    assert.ok(settings);
    assert.deepEqual(JSON.parse(JSON.stringify(settings)), {
      description: `Any JSON value, nested at most ${JSON_VALUE_BOUNDS.maxDepth} levels deep and at most ${JSON_VALUE_BOUNDS.maxLength} characters as JSON; finite numbers only, no U+0000 or unpaired surrogates in strings.`,
    });
    assert.equal(JSON_VALUE_KEYWORD in settings, false);
    assert.equal(JSON.stringify(inputObjectSchema(input, {})).includes(JSON_VALUE_KEYWORD), false);
  });

  it("carry the bounds keyword in the copy the REST layer validates with, and only there", () => {
    const published = inputObjectSchema(input, {});
    const validating = withJsonValueBounds(published) as { properties: Record<string, Record<string, unknown>> };
    assert.deepEqual(validating.properties.settings?.[JSON_VALUE_KEYWORD], { maxDepth: 32, maxLength: 16_000 });
    assert.deepEqual(JSON_VALUE_BOUNDS, { maxDepth: 32, maxLength: 16_000 });
    // Every other field is copied unchanged, and the original keeps no keyword.
    for (const name of ["workspaceId", "name", "tags", "role"]) assert.deepEqual(validating.properties[name], (published.properties as Record<string, unknown>)[name], name);
    assert.equal(JSON_VALUE_KEYWORD in ((published.properties as Record<string, Record<string, unknown>>).settings ?? {}), false);
  });

  it("keep the marker through a spread (a route adding an example) and inside arrays", () => {
    const settings = (inputObjectSchema(input, {}).properties as Record<string, Record<string, unknown>>).settings ?? {};
    const spread = { ...settings, example: { a: 1 } };
    assert.deepEqual((withJsonValueBounds(spread) as Record<string, unknown>)[JSON_VALUE_KEYWORD], { ...JSON_VALUE_BOUNDS });
    const inArray = withJsonValueBounds([settings]) as Record<string, unknown>[];
    assert.deepEqual(inArray[0]?.[JSON_VALUE_KEYWORD], { ...JSON_VALUE_BOUNDS });
  });

  it("leave primitives and schemas without the marker as they are", () => {
    assert.equal(withJsonValueBounds(5), 5);
    assert.equal(withJsonValueBounds(null), null);
    assert.deepEqual(withJsonValueBounds({ type: "string", enum: ["a"] }), { type: "string", enum: ["a"] });
  });

  it("take null like any nullable input (the JSON schema is already anything)", () => {
    const settings = inputSchema(schema.getType("JSON") as GraphQLScalarType);
    assert.equal("type" in settings, false);
  });
});

describe("lookups and unmapped types", () => {
  it("finds input objects and enums by name, and refuses other names", () => {
    assert.equal(requireInputObject(schema, "CreateBoardInput").name, "CreateBoardInput");
    assert.equal(requireEnum(schema, "Role").name, "Role");
    assert.throws(() => requireInputObject(schema, "Board"), /Board is not an input type of the API schema/);
    assert.throws(() => requireInputObject(schema, "Missing"), /Missing is not an input type/);
    assert.throws(() => requireEnum(schema, "CreateBoardInput"), /CreateBoardInput is not an enum of the API schema/);
  });

  it("refuses a scalar it has no mapping for rather than guessing", () => {
    assert.throws(() => inputSchema(schema.getType("Upload") as GraphQLScalarType), /No JSON Schema mapping for the GraphQL scalar Upload/);
  });
});
