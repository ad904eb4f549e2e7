/**
 * What a board's activity calls each domain event its subscribers and its history show (the
 * BoardActivityType enum of the items subgraph's schema). One table for the gateway's live events
 * and the items subgraph's history; each side types it with its own generated enum.
 */
export const BOARD_ACTIVITY_TYPES = {
  "project.item.created": "ITEM_CREATED",
  "project.item.updated": "ITEM_UPDATED",
  "project.item.moved": "ITEM_MOVED",
  "project.item.deleted": "ITEM_DELETED",
  "project.item.column_value.set": "COLUMN_VALUE_SET",
  "project.item.subitem.created": "SUBITEM_CREATED",
  "comment.added": "COMMENT_ADDED",
  "project.group.created": "GROUP_CREATED",
  "project.group.updated": "GROUP_UPDATED",
  "project.group.archived": "GROUP_ARCHIVED",
  "project.column.created": "COLUMN_CREATED",
  "project.column.updated": "COLUMN_UPDATED",
  "project.column.archived": "COLUMN_ARCHIVED",
  "project.updated": "BOARD_UPDATED",
  "project.archived": "BOARD_ARCHIVED",
  "project.member.added": "BOARD_SHARED",
  "project.member.removed": "BOARD_UNSHARED",
} as const;
