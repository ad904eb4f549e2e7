import {
  GraphQLError,
  Kind,
  execute,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  print,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { VIEW_VERSION_KEY, type ViewPlan } from "./entity-views.ts";
import { sharingOf, type Sharing } from "./sharing.ts";

/** The public root field that returns an entity by id (`item(id: ID!)`, `board(id:)`, `user(id:)`). */
type RootField = "item" | "board" | "user";

/** Event-level entity fields of the subscription event types, and the root field each is fetched through. */
export const ENTITY_FIELDS: Readonly<Record<string, RootField>> = {
  item: "item",
  board: "board",
  actor: "user",
  user: "user",
  viewers: "user",
};

/** Ids of the entities an event refers to, by event-level field name; a list for list fields. */
export type EntityIds = Readonly<Record<string, string | readonly string[] | null | undefined>>;

/** One delivered event before shaping: its event-level values and the ids of its entities. */
export interface EventSource {
  readonly values: Readonly<Record<string, unknown>>;
  readonly entities: EntityIds;
  /**
   * What happens to a subscriber who cannot read the event's board: `end` (the default: a board
   * stream whose reader lost access ends with FORBIDDEN), `skip` (a notification about a board the
   * user cannot read is not theirs to see) or `deliver` (the notification that they lost it).
   */
  readonly unreadable?: "end" | "skip" | "deliver";
  /** One subscriber's own view (notifications): its answers are never shared beyond its principal. */
  readonly personal?: boolean;
}

/** An entity field the subscription selects: fetched per event through `rootField(id:)`. */
interface SelectedEntity {
  readonly responseKey: string;
  /** The event-level field name (item, board, actor, user, viewers). */
  readonly field: string;
  readonly rootField: RootField;
  readonly list: boolean;
  /** The merged selection set's body, printed. */
  readonly body: string;
}

/** What a subscription needs fetched per event; null when it selects no entity. */
interface PayloadPlan {
  readonly entities: readonly SelectedEntity[];
  /** Printed variable definitions of the client's operation used inside entity selections. */
  readonly declarations: readonly string[];
  readonly fragments: string;
  /** Values of those variables. */
  readonly variables: Readonly<Record<string, unknown>>;
}

/** One event's federated fetch: the query text and its variables, and a key to share it by. */
export interface PayloadFetch {
  readonly query: string;
  readonly variables: Record<string, unknown>;
  readonly key: string;
}

/** Upper bound of list entities resolved per event (aliases count against the operation limits). */
export const MAX_LIST_ENTITIES = 25;

const idVariable = (responseKey: string, index?: number) => `${responseKey}${index === undefined ? "" : `_${index}`}_id`;
const listAlias = (responseKey: string, index: number) => `${responseKey}_${index}`;

/**
 * A compiled subscription operation: which federated query it needs and how one event becomes
 * its result. Compiled once per subscription; `resolve` + `shape` run once per distinct
 * selection and event, and the result is shared by every subscriber with that selection.
 */
export class SubscriptionPayload {
  /** Key for sharing one shaped result: same document, operation and variables. */
  readonly shapeKey: string;
  /** Whom one federated answer to this selection may be shared with (see sharing.ts). */
  readonly sharing: Sharing;
  /** How answers may be kept between events (entity-views.ts); null: fetched for every event. */
  readonly view: ViewPlan | null;
  private readonly plan: PayloadPlan | null;
  private readonly rootResponseKey: string;
  private readonly eventTypeName: string;

  /**
   * @param shapeKey see `subscriptionKey`: subscriptions with one key share this object (and the
   *   variables it was built with, which differ from theirs only in the root field's arguments).
   */
  private readonly schema: GraphQLSchema;
  private readonly document: DocumentNode;
  private readonly operation: OperationDefinitionNode;
  private readonly variables: Readonly<Record<string, unknown>>;

  constructor(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Readonly<Record<string, unknown>>,
    rootField: FieldNode,
    eventType: GraphQLObjectType,
    shapeKey: string,
  ) {
    this.schema = schema;
    this.document = document;
    this.operation = operation;
    this.variables = variables;
    this.rootResponseKey = rootField.alias?.value ?? rootField.name.value;
    this.eventTypeName = eventType.name;
    this.shapeKey = shapeKey;
    this.sharing = sharingOf(schema, document);
    const planned = planPayload(document, operation, variables, rootField, eventType, this.sharing === "board");
    this.plan = planned?.plan ?? null;
    this.view = planned?.view ?? null;
  }

  /**
   * The federated query for one event: one aliased root field per selected entity the event
   * refers to (`item: item(id: $item_id) { ... }`, list fields one per id, at most
   * MAX_LIST_ENTITIES); null when there is nothing to fetch.
   */
  fetchFor(entities: EntityIds): PayloadFetch | null {
    if (!this.plan) return null;
    const fields: string[] = [];
    const declarations = [...this.plan.declarations];
    const variables: Record<string, unknown> = { ...this.plan.variables };
    const add = (alias: string, rootField: string, body: string, id: string, variable: string) => {
      fields.push(`${alias}: ${rootField}(id: $${variable}) { ${body} }`);
      declarations.push(`$${variable}: ID!`);
      variables[variable] = id;
    };
    for (const entity of this.plan.entities) {
      const ids = entities[entity.field];
      if (entity.list && Array.isArray(ids)) {
        ids
          .slice(0, MAX_LIST_ENTITIES)
          .forEach(
            (id: string, index) => void add(listAlias(entity.responseKey, index), entity.rootField, entity.body, id, idVariable(entity.responseKey, index)),
          );
      } else if (!entity.list && typeof ids === "string") {
        add(entity.responseKey, entity.rootField, entity.body, ids, idVariable(entity.responseKey));
      }
    }
    if (fields.length === 0) return null;
    const query = `query SubscriptionPayload(${declarations.join(", ")}) {\n${fields.join("\n")}\n}\n${this.plan.fragments}`;
    // Ids are in the key: one fetch per distinct selection and event.
    return { query, variables, key: `${query}\n${JSON.stringify(variables)}` };
  }

  /**
   * The subscription's result for one event: the client's own selection executed over the event
   * values and the resolved entities (already shaped by the federated plan, keyed by response key).
   */
  shape(source: EventSource, resolved: { data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[] } | null): ExecutionResult {
    const data = resolved?.data ?? {};
    const entityKeys = new Set(this.plan?.entities.map((entity) => entity.responseKey));
    const entityValue = (responseKey: string, field: string): unknown => {
      const ids = source.entities[field];
      if (!Array.isArray(ids)) return data[responseKey] ?? null;
      return ids
        .slice(0, MAX_LIST_ENTITIES)
        .map((_, index) => data[listAlias(responseKey, index)])
        .filter((value) => value != null);
    };
    const subscriptionType = this.schema.getSubscriptionType();
    const fieldResolver: GraphQLFieldResolver<unknown, unknown> = (parent, _args, _context, info) => {
      const responseKey = info.path.key as string;
      if (info.parentType === subscriptionType) return source;
      if (info.parentType.name === this.eventTypeName) {
        return entityKeys.has(responseKey) ? entityValue(responseKey, info.fieldName) : source.values[info.fieldName];
      }
      // Below an entity: the federated answer is already keyed by the client's response keys.
      return (parent as Record<string, unknown> | null)?.[responseKey];
    };
    const result = execute({
      schema: this.schema,
      document: this.document,
      operationName: this.operation.name?.value,
      variableValues: this.variables,
      rootValue: {},
      fieldResolver,
    }) as ExecutionResult;
    const upstream = resolved?.errors ?? [];
    if (upstream.length === 0) return result;
    // Errors of the entity fetch, at their place in the subscription's result.
    const errors = upstream.map(
      (error) => new GraphQLError(error.message, { path: error.path ? [this.rootResponseKey, ...error.path] : undefined, extensions: error.extensions }),
    );
    return { ...result, errors: [...(result.errors ?? []), ...errors] };
  }
}

/**
 * What makes two subscriptions' results for one event the same: the document, the operation and
 * the values of the variables used inside the root field's selection. The root field's own
 * arguments (board, cursor) choose the stream, not the shape, so they are left out.
 */
export function subscriptionKey(
  text: string,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>>,
  rootField: FieldNode,
): string {
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const names = rootField.selectionSet ? usage([rootField.selectionSet], fragments).variableNames : new Set<string>();
  const used = [...names].sort().map((name) => [name, variables[name]]);
  return `${text}\n${operationName ?? ""}\n${JSON.stringify(used)}`;
}

/** Field nodes of `selectionSet` on `type`, through fragment spreads and inline fragments. */
function collectFields(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  typeName: string,
  into: FieldNode[] = [],
): FieldNode[] {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) into.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!selection.typeCondition || selection.typeCondition.name.value === typeName) collectFields(selection.selectionSet, fragments, typeName, into);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (fragment && fragment.typeCondition.name.value === typeName) collectFields(fragment.selectionSet, fragments, typeName, into);
    }
  }
  return into;
}

/** Names of the fragments and variables a selection uses, transitively. */
function usage(nodes: readonly SelectionSetNode[], fragments: ReadonlyMap<string, FragmentDefinitionNode>) {
  const fragmentNames = new Set<string>();
  const variableNames = new Set<string>();
  const pending = [...nodes];
  while (pending.length > 0) {
    const node = pending.pop();
    if (!node) break;
    visit(node, {
      FragmentSpread(spread) {
        if (fragmentNames.has(spread.name.value)) return;
        fragmentNames.add(spread.name.value);
        const fragment = fragments.get(spread.name.value);
        if (fragment) pending.push(fragment.selectionSet);
      },
      Variable(variable) {
        variableNames.add(variable.name.value);
      },
    });
  }
  return { fragmentNames, variableNames };
}

function planPayload(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  rootField: FieldNode,
  eventType: GraphQLObjectType,
  boardShared: boolean,
): { plan: PayloadPlan; view: ViewPlan | null } | null {
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  if (!rootField.selectionSet) return null;
  // Fields with one response key merge (GraphQL's field collection): so do their selections.
  const byKey = new Map<string, { field: string; selections: SelectionSetNode[] }>();
  for (const node of collectFields(rootField.selectionSet, fragments, eventType.name)) {
    if (!ENTITY_FIELDS[node.name.value] || !node.selectionSet || !eventType.getFields()[node.name.value]) continue;
    const responseKey = node.alias?.value ?? node.name.value;
    const entry = byKey.get(responseKey) ?? { field: node.name.value, selections: [] };
    entry.selections.push(node.selectionSet);
    byKey.set(responseKey, entry);
  }
  if (byKey.size === 0) return null;

  const used = usage(
    [...byKey.values()].flatMap((entry) => entry.selections),
    fragments,
  );
  const view = boardShared ? viewPlanOf(byKey, fragments, eventType) : null;
  const entities: SelectedEntity[] = [...byKey].map(([responseKey, entry]) => {
    const body = entry.selections.map((selection) => print(selection).slice(1, -1).trim()).join("\n");
    return {
      responseKey,
      field: entry.field,
      rootField: ENTITY_FIELDS[entry.field] as RootField,
      list: isListType(getNullableType((eventType.getFields()[entry.field] as { type: GraphQLOutputType }).type)),
      // A kept answer follows the item's version: the fetch says which one it shows.
      body: view && responseKey === view.itemKey ? `${body}\n${VIEW_VERSION_KEY}: version` : body,
    };
  });
  const declarations = (operation.variableDefinitions ?? [])
    .filter((definition) => used.variableNames.has(definition.variable.name.value))
    .map((definition) => print(definition));
  const fragmentText = [...used.fragmentNames]
    .map((name) => fragments.get(name))
    .filter((fragment): fragment is FragmentDefinitionNode => fragment !== undefined)
    .map((fragment) => print(fragment))
    .join("\n");
  return {
    plan: {
      entities,
      declarations,
      fragments: fragmentText,
      variables: Object.fromEntries(Object.entries(variables).filter(([name]) => used.variableNames.has(name))),
    },
    view,
  };
}

/** Types whose values list or are items: a selection that reaches one can change with any item's event. */
const ITEM_REACHING = new Set(["Item", "ItemConnection", "ItemEdge", "ActivityLog", "ActivityLogConnection", "ActivityLogEdge"]);

/**
 * How a board-shared selection's answers can be kept between events, or null when they cannot: an
 * entity list (presence viewers), a selection that reaches items other than the event's own
 * (`Board.items`, `Comment.item`, activity: any item's event could change it), a type whose fields
 * are not known here (interfaces, unions), or a response key the view's version would take.
 */
function viewPlanOf(
  byKey: ReadonlyMap<string, { readonly field: string; readonly selections: readonly SelectionSetNode[] }>,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  eventType: GraphQLObjectType,
): ViewPlan | null {
  let itemKey: string | null = null;
  const itemFields = new Map<string, string[]>();
  for (const [responseKey, entry] of byKey) {
    const type = getNullableType((eventType.getFields()[entry.field] as { type: GraphQLOutputType }).type);
    if (isListType(type) || !isObjectType(type)) return null;
    if (entry.selections.some((selection) => reachesItems(type, selection, fragments, new Set()))) return null;
    if (entry.field !== "item") continue;
    if (itemKey !== null) return null;
    itemKey = responseKey;
    for (const selection of entry.selections) {
      for (const node of collectFields(selection, fragments, type.name)) {
        const key = node.alias?.value ?? node.name.value;
        if (key === VIEW_VERSION_KEY) return null;
        const keys = itemFields.get(node.name.value) ?? [];
        if (!keys.includes(key)) keys.push(key);
        itemFields.set(node.name.value, keys);
      }
    }
  }
  return { itemKey, itemFields };
}

function reachesItems(
  type: GraphQLNamedType,
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  spread: Set<string>,
): boolean {
  return selectionSet.selections.some((selection) => {
    if (selection.kind === Kind.INLINE_FRAGMENT) return reachesItems(type, selection.selectionSet, fragments, spread);
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = fragments.get(selection.name.value);
      if (!fragment || spread.has(fragment.name.value)) return false;
      spread.add(fragment.name.value);
      return reachesItems(type, fragment.selectionSet, fragments, spread);
    }
    if (selection.name.value === "__typename") return false;
    if (!isObjectType(type)) return true;
    const definition = type.getFields()[selection.name.value];
    if (!definition) return true;
    const named = getNamedType(definition.type);
    if (ITEM_REACHING.has(named.name)) return true;
    return selection.selectionSet ? reachesItems(named, selection.selectionSet, fragments, spread) : false;
  });
}
