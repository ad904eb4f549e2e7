import { TypeInfo, getNamedType, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from "graphql";

/**
 * Who may share one federated answer to a subscription's selection for one event.
 *
 * The rule (issue 9): a subscriber never receives a value that the same selection, run as a query
 * by that subscriber at that moment, would not return. So an answer is shared only between
 * subscribers for whom it is provably the same:
 *
 * - `"board"`: every field the selection reads is one whose value depends only on the entity it is
 *   read on, never on who asks, and every entity it can reach is readable by anyone who can read
 *   the event's board (its items, groups, columns, values, comments, subitems and activity; users
 *   and the organisation's members and teams, which every member of the organisation may read
 *   whatever their role). Board read access is checked per subscriber and per event before
 *   delivery, so everyone who passed that check gets the same answer: the fetch runs once per
 *   event (and organisation) for all of them.
 * - `"caller"`: anything else — `viewer*` fields, lists filtered by the caller's reading rights
 *   (`User.boards`, `Organization.boards`, `Workspace.boards`, `Organization.workspaces`),
 *   integration settings, and every field not listed below, including fields added to the schema
 *   later. The fetch runs once per principal (user or API key).
 *
 * The list is deliberately an allow-list: a new field is per caller until someone shows here that
 * its value is the same for every reader of the board.
 */
export type Sharing = "board" | "caller";

const CALLER_INDEPENDENT: Readonly<Record<string, readonly string[]>> = {
  Item: ["id", "name", "position", "version", "createdAt", "updatedAt", "board", "group", "creator", "assignees", "columnValues", "subitems", "comments"],
  Board: [
    "id",
    "name",
    "description",
    "kind",
    "state",
    "version",
    "createdAt",
    "updatedAt",
    "workspace",
    "owner",
    "groups",
    "columns",
    "members",
    "items",
    "activity",
  ],
  Group: ["id", "name", "color", "position", "version", "archivedAt", "board"],
  Column: ["id", "title", "type", "settings", "position", "version", "archivedAt", "board"],
  ColumnValue: ["column", "value", "version", "updatedAt"],
  Subitem: ["id", "name", "done", "position", "version"],
  Comment: ["id", "body", "author", "item", "createdAt", "updatedAt"],
  ActivityLog: ["id", "action", "data", "user", "item", "createdAt"],
  BoardMember: ["user", "permission"],
  // Not `boards`: the boards of a user the caller may read.
  User: ["id", "name", "email", "title", "avatarUrl", "role", "organization", "teams", "version", "createdAt"],
  // Not `boards`, `workspaces`, `integrations`: filtered by the caller's rights.
  Organization: ["id", "name", "slug", "version", "createdAt", "members", "teams"],
  // Not `boards`.
  Workspace: ["id", "name", "description", "version", "createdAt"],
  Membership: ["id", "role", "user", "version", "createdAt", "removedAt"],
  Team: ["id", "name", "members"],
  ItemConnection: ["edges", "nodes", "pageInfo"],
  ItemEdge: ["cursor", "node"],
  CommentConnection: ["edges", "nodes", "pageInfo"],
  CommentEdge: ["cursor", "node"],
  ActivityLogConnection: ["edges", "nodes", "pageInfo"],
  ActivityLogEdge: ["cursor", "node"],
  MembershipConnection: ["edges", "nodes", "pageInfo"],
  MembershipEdge: ["cursor", "node"],
  PageInfo: ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"],
};

const allowed = new Map(Object.entries(CALLER_INDEPENDENT).map(([type, fields]) => [type, new Set(fields)]));

/**
 * How the answers to `document`'s selection may be shared. Fields of the Subscription root and of
 * the event types it returns are the event's own values and entity roots; everything below them
 * must be caller-independent for the selection to be shared per board.
 */
export function sharingOf(schema: GraphQLSchema, document: DocumentNode): Sharing {
  const subscription = schema.getSubscriptionType();
  const eventLevel = new Set<string>(subscription ? [subscription.name] : []);
  for (const field of Object.values(subscription?.getFields() ?? {})) eventLevel.add(getNamedType(field.type).name);

  let sharing: Sharing = "board";
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        const name = node.name.value;
        if (name === "__typename" || (parent && eventLevel.has(parent.name))) return;
        if (!parent || !allowed.get(parent.name)?.has(name)) sharing = "caller";
      },
    }),
  );
  return sharing;
}
