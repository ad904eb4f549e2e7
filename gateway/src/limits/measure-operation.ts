import {
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";

/** What an operation would make the gateway do, measured on the document alone (no schema). */
export interface OperationMeasure {
  /** Fields on the longest path from the root, fragments expanded; `__schema`/`__type` subtrees excluded. */
  readonly depth: number;
  /** Aliased fields in the expanded operation (a fragment spread twice counts twice). */
  readonly aliases: number;
  /**
   * Estimated resolved fields: 1 per field, list subtrees multiplied by their page size. A list
   * without a size argument (`assignees`, `columnValues`) counts as one object: without the schema it
   * cannot be told from one, and its length is bounded by the data of its parent, not chosen by the
   * caller; what the caller controls, `first`/`limit` and aliases, is what multiplies.
   */
  readonly cost: number;
}

/** Arguments whose value is the number of elements a list field returns. */
const LIST_SIZE_ARGUMENTS = new Set(["first", "last", "limit"]);
/** Relay connection fields holding one entry per element of the page. */
const CONNECTION_LIST_FIELDS = new Set(["edges", "nodes"]);
/**
 * Excluded from depth: graphql's MaxIntrospectionDepthRule (part of the validation Apollo runs) already
 * bounds their recursion, and the standard introspection query GraphiQL sends nests `ofType` 9 levels
 * deep, which no data query needs. They still count towards cost and aliases.
 */
const INTROSPECTION_FIELDS = new Set(["__schema", "__type"]);
/**
 * Free: resolved from the type without a resolver, and Apollo Client adds it to every selection set,
 * so charging for it would make the same screen cost more from Apollo Client than from curl.
 */
const TYPENAME = "__typename";

// Every figure saturates here so a fragment bomb or a 400-digit `first` stays a finite JSON number
// and no product of Infinity and 0 can turn into NaN (which compares false against any limit).
const CEILING = Number.MAX_SAFE_INTEGER;
const add = (a: number, b: number) => Math.min(a + b, CEILING);
const multiply = (a: number, b: number) => Math.min(a * b, CEILING);

const NOTHING: OperationMeasure = { depth: 0, aliases: 0, cost: 0 };

/**
 * Measures the operation that would run. When `operationName` does not pick exactly one operation,
 * execution will refuse the document anyway, so every operation is measured and the worst figures
 * returned: a document can never pass by being ambiguous.
 */
export function measureOperation(
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
  defaultListSize: number,
): OperationMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
    // Duplicates are a validation error; the first one is as good as any for an estimate.
    else if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value)) {
      fragments.set(definition.name.value, definition);
    }
  }
  const named = operationName === undefined ? [] : operations.filter((operation) => operation.name?.value === operationName);
  const selected = named.length > 0 ? named.slice(0, 1) : operations;

  let worst = NOTHING;
  for (const operation of selected) {
    const measurer = new Measurer(fragments, effectiveVariables(operation, variables), defaultListSize);
    const measure = measurer.selectionSet(operation.selectionSet, undefined);
    worst = {
      depth: Math.max(worst.depth, measure.depth),
      aliases: Math.max(worst.aliases, measure.aliases),
      cost: Math.max(worst.cost, measure.cost),
    };
  }
  return worst;
}

/** Variable values as execution will see them: the request's, else the operation's declared defaults. */
function effectiveVariables(operation: OperationDefinitionNode, provided: Record<string, unknown> | undefined): Record<string, unknown> {
  // No prototype: a variable named `constructor` must not read Object.prototype.constructor.
  const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (provided !== undefined && Object.hasOwn(provided, name)) values[name] = provided[name];
    else if (definition.defaultValue !== undefined) values[name] = valueFromASTUntyped(definition.defaultValue);
  }
  return values;
}

/**
 * One walk per operation. Fragment results are memoised (per fragment and enclosing page size), so
 * the walk is linear in the document even when fragments spread each other many times over.
 */
class Measurer {
  private readonly memo = new Map<string, OperationMeasure>();
  private readonly connectionMemo = new Map<string, boolean>();
  private readonly entered = new Set<string>();
  private readonly enteredForConnection = new Set<string>();

  private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  private readonly variables: Record<string, unknown>;
  private readonly defaultListSize: number;

  constructor(fragments: ReadonlyMap<string, FragmentDefinitionNode>, variables: Record<string, unknown>, defaultListSize: number) {
    this.fragments = fragments;
    this.variables = variables;
    this.defaultListSize = defaultListSize;
  }

  /**
   * `pageSize` is set while inside a connection: its `edges`/`nodes` are then lists of that size,
   * while `pageInfo` and other siblings resolve once.
   */
  selectionSet(set: SelectionSetNode, pageSize: number | undefined): OperationMeasure {
    let depth = 0;
    let aliases = 0;
    let cost = 0;
    for (const selection of set.selections) {
      let measure: OperationMeasure;
      if (selection.kind === Kind.FIELD) {
        const isPageList = pageSize !== undefined && CONNECTION_LIST_FIELDS.has(selection.name.value);
        measure = this.field(selection, isPageList ? pageSize : undefined);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        measure = this.selectionSet(selection.selectionSet, pageSize);
      } else {
        measure = this.fragment(selection.name.value, pageSize);
      }
      depth = Math.max(depth, measure.depth);
      aliases = add(aliases, measure.aliases);
      cost = add(cost, measure.cost);
    }
    return { depth, aliases, cost };
  }

  private fragment(name: string, pageSize: number | undefined): OperationMeasure {
    const key = `${name}\u0000${pageSize ?? ""}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    // Unknown and cyclic spreads make the document invalid: validation (KnownFragmentNames,
    // NoFragmentCycles) refuses it before anything executes, so here they only need to terminate.
    if (fragment === undefined || this.entered.has(name)) return NOTHING;
    this.entered.add(name);
    const measure = this.selectionSet(fragment.selectionSet, pageSize);
    this.entered.delete(name);
    this.memo.set(key, measure);
    return measure;
  }

  /** `listSize` forces list semantics: the field is the `edges`/`nodes` of an enclosing connection. */
  private field(field: FieldNode, listSize: number | undefined): OperationMeasure {
    const alias = field.alias === undefined ? 0 : 1;
    const own = field.name.value === TYPENAME ? 0 : 1;
    if (field.selectionSet === undefined) return { depth: 1, aliases: alias, cost: own };

    const size = listSize ?? this.requestedSize(field);
    const isConnection = this.hasConnectionFields(field.selectionSet);
    // A connection resolves once; the size moves down to its edges/nodes. Without a size argument a
    // connection still returns a page, of the server's default size.
    const inner = isConnection ? this.selectionSet(field.selectionSet, size ?? this.defaultListSize) : this.selectionSet(field.selectionSet, undefined);
    const subtree = !isConnection && size !== undefined ? multiply(size, inner.cost) : inner.cost;
    return {
      depth: INTROSPECTION_FIELDS.has(field.name.value) ? 0 : inner.depth + 1,
      aliases: add(alias, inner.aliases),
      cost: add(own, subtree),
    };
  }

  /**
   * The page size the field asks for; the default when a size argument is there but null or
   * missing from the variables (the server then applies its default); undefined for a non-list.
   */
  private requestedSize(field: FieldNode): number | undefined {
    let isList = false;
    let size: number | undefined;
    for (const argument of field.arguments ?? []) {
      if (!LIST_SIZE_ARGUMENTS.has(argument.name.value)) continue;
      isList = true;
      const value = valueFromASTUntyped(argument.value, this.variables);
      if (typeof value === "number" && !Number.isNaN(value)) {
        size = Math.max(size ?? 0, Math.min(Math.max(0, Math.ceil(value)), CEILING));
      }
    }
    return isList ? (size ?? this.defaultListSize) : undefined;
  }

  private hasConnectionFields(set: SelectionSetNode): boolean {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (CONNECTION_LIST_FIELDS.has(selection.name.value)) return true;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (this.hasConnectionFields(selection.selectionSet)) return true;
      } else if (this.fragmentHasConnectionFields(selection.name.value)) {
        return true;
      }
    }
    return false;
  }

  private fragmentHasConnectionFields(name: string): boolean {
    const known = this.connectionMemo.get(name);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    if (fragment === undefined || this.enteredForConnection.has(name)) return false;
    this.enteredForConnection.add(name);
    const result = this.hasConnectionFields(fragment.selectionSet);
    this.enteredForConnection.delete(name);
    this.connectionMemo.set(name, result);
    return result;
  }
}
