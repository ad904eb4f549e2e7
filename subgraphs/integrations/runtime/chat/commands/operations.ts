/**
 * The GraphQL documents of the chat commands, in one place: reading them is reading everything a
 * chat user can do through Sunday's API (each runs as that user, through the gateway).
 */
import type { ChatOperation } from "../model.ts";

/** Every GraphQL document the core sends, by name: the whole of what chat users can do. */
export const OPERATIONS = {
  boards: {
    operationName: "ChatBoards",
    query: `query ChatBoards($first: Int!, $after: String, $search: String) {
  boards(first: $first, after: $after, filter: { state: ACTIVE, search: $search }) {
    nodes { id name workspace { name } }
    pageInfo { hasNextPage endCursor }
  }
}`,
  },
  board: {
    operationName: "ChatBoard",
    query: `query ChatBoard($id: ID!) {
  board(id: $id) { id name groups { id name } }
}`,
  },
  boardItems: {
    operationName: "ChatBoardItems",
    query: `query ChatBoardItems($id: ID!, $first: Int!) {
  board(id: $id) {
    id name
    columns { id title type settings }
    items(first: $first, orderBy: { field: POSITION }) {
      nodes { id name columnValues { column { id } value } }
      pageInfo { hasNextPage }
    }
  }
}`,
  },
  statusColumns: {
    operationName: "ChatStatusColumns",
    query: `query ChatStatusColumns($first: Int!, $after: String) {
  boards(first: $first, after: $after, filter: { state: ACTIVE }) {
    nodes { id columns { id title type settings } }
    pageInfo { hasNextPage endCursor }
  }
}`,
  },
  findItems: {
    operationName: "ChatFindItems",
    query: `query ChatFindItems($search: String!, $first: Int!, $after: String, $items: Int!) {
  boards(first: $first, after: $after, filter: { state: ACTIVE }) {
    nodes { id name items(first: $items, filter: { search: $search }) { nodes { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}`,
  },
  item: {
    operationName: "ChatItem",
    query: `query ChatItem($id: ID!) {
  item(id: $id) {
    id name version
    board { id name columns { id title type settings } }
    columnValues { column { id } value }
    assignees { id }
  }
}`,
  },
  users: {
    operationName: "ChatUsers",
    query: `query ChatUsers($search: String!) {
  users(first: 25, filter: { search: $search }) { nodes { id name email role } }
}`,
  },
  user: {
    operationName: "ChatUser",
    query: `query ChatUser($id: ID!) {
  user(id: $id) { id name email role }
}`,
  },
  createItem: {
    operationName: "ChatCreateItem",
    query: `mutation ChatCreateItem($input: CreateItemInput!) {
  createItem(input: $input) { id name board { id name } group { id name } }
}`,
  },
  setStatus: {
    operationName: "ChatSetStatus",
    query: `mutation ChatSetStatus($input: SetColumnValueInput!) {
  setColumnValue(input: $input) { id name version }
}`,
  },
  assignUsers: {
    operationName: "ChatAssignUsers",
    query: `mutation ChatAssignUsers($input: AssignUsersInput!) {
  assignUsers(input: $input) { id name version }
}`,
  },
} as const satisfies Record<string, Required<Omit<ChatOperation, "variables">>>;

export type OperationKey = keyof typeof OPERATIONS;
