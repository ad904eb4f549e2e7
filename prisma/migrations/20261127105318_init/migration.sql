-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "events";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "integrations";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "items";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "projects";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "users";

-- CreateEnum
CREATE TYPE "users"."MembershipRole" AS ENUM ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER', 'GUEST');

-- CreateEnum
CREATE TYPE "projects"."BoardKind" AS ENUM ('PUBLIC', 'PRIVATE', 'SHAREABLE');

-- CreateEnum
CREATE TYPE "projects"."BoardState" AS ENUM ('ACTIVE', 'ARCHIVED');

-- CreateEnum
CREATE TYPE "projects"."BoardPermission" AS ENUM ('OWNER', 'EDITOR', 'VIEWER');

-- CreateEnum
CREATE TYPE "projects"."ColumnType" AS ENUM ('TEXT', 'STATUS', 'PERSON', 'DATE', 'NUMBER', 'DROPDOWN', 'TIMELINE');

-- CreateEnum
CREATE TYPE "integrations"."IntegrationType" AS ENUM ('SLACK', 'TEAMS', 'WEBHOOK');

-- CreateEnum
CREATE TYPE "integrations"."DeliveryStatus" AS ENUM ('PENDING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "users"."Organization" (
    "id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "slug" VARCHAR(64) NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users"."User" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "email" VARCHAR(320) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "title" VARCHAR(200),
    "avatarUrl" VARCHAR(2048),
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "deactivatedAt" TIMESTAMPTZ(3),

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users"."Membership" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "role" "users"."MembershipRole" NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "removedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Membership_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users"."Team" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Team_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users"."TeamMember" (
    "organizationId" UUID NOT NULL,
    "teamId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TeamMember_pkey" PRIMARY KEY ("teamId","userId")
);

-- CreateTable
CREATE TABLE "projects"."Workspace" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "description" VARCHAR(2000),
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "archivedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Workspace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "projects"."Board" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "description" VARCHAR(2000),
    "kind" "projects"."BoardKind" NOT NULL DEFAULT 'PUBLIC',
    "state" "projects"."BoardState" NOT NULL DEFAULT 'ACTIVE',
    "ownerId" UUID NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "archivedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Board_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "projects"."Group" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "boardId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "color" VARCHAR(16) NOT NULL DEFAULT '#579bfc',
    "position" DOUBLE PRECISION NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "archivedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Group_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "projects"."Column" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "boardId" UUID NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "type" "projects"."ColumnType" NOT NULL,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "position" DOUBLE PRECISION NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "archivedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Column_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "projects"."BoardMember" (
    "organizationId" UUID NOT NULL,
    "boardId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "permission" "projects"."BoardPermission" NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BoardMember_pkey" PRIMARY KEY ("boardId","userId")
);

-- CreateTable
CREATE TABLE "items"."Item" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "boardId" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "name" VARCHAR(500) NOT NULL,
    "position" DOUBLE PRECISION NOT NULL,
    "creatorId" UUID NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Item_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "items"."ItemAssignee" (
    "organizationId" UUID NOT NULL,
    "itemId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ItemAssignee_pkey" PRIMARY KEY ("itemId","userId")
);

-- CreateTable
CREATE TABLE "items"."ColumnValue" (
    "organizationId" UUID NOT NULL,
    "itemId" UUID NOT NULL,
    "columnId" UUID NOT NULL,
    "value" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ColumnValue_pkey" PRIMARY KEY ("itemId","columnId")
);

-- CreateTable
CREATE TABLE "items"."Subitem" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "parentItemId" UUID NOT NULL,
    "name" VARCHAR(500) NOT NULL,
    "position" DOUBLE PRECISION NOT NULL,
    "done" BOOLEAN NOT NULL DEFAULT false,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Subitem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "items"."Comment" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "itemId" UUID NOT NULL,
    "authorId" UUID NOT NULL,
    "body" VARCHAR(10000) NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Comment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "items"."ActivityLog" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "boardId" UUID NOT NULL,
    "itemId" UUID,
    "userId" UUID NOT NULL,
    "action" VARCHAR(100) NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ActivityLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "integrations"."Integration" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "type" "integrations"."IntegrationType" NOT NULL,
    "boardId" UUID,
    "name" VARCHAR(200) NOT NULL,
    "config" JSONB NOT NULL DEFAULT '{}',
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "createdById" UUID NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Integration_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "integrations"."Webhook" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "boardId" UUID,
    "url" VARCHAR(2048) NOT NULL,
    "secret" VARCHAR(128) NOT NULL,
    "events" TEXT[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdById" UUID NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Webhook_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "integrations"."WebhookDelivery" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "webhookId" UUID NOT NULL,
    "eventId" UUID NOT NULL,
    "eventType" VARCHAR(100) NOT NULL,
    "status" "integrations"."DeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "responseStatus" INTEGER,
    "error" VARCHAR(2000),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMPTZ(3),

    CONSTRAINT "WebhookDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "events"."OutboxEvent" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "topic" VARCHAR(100) NOT NULL,
    "eventType" VARCHAR(100) NOT NULL,
    "schemaVersion" INTEGER NOT NULL DEFAULT 1,
    "aggregateType" VARCHAR(100) NOT NULL,
    "aggregateId" UUID NOT NULL,
    "aggregateVersion" INTEGER NOT NULL,
    "envelope" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "publishedAt" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" VARCHAR(2000),
    "sequence" BIGSERIAL NOT NULL,

    CONSTRAINT "OutboxEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "events"."ProcessedEvent" (
    "consumerGroup" VARCHAR(200) NOT NULL,
    "eventId" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "processedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProcessedEvent_pkey" PRIMARY KEY ("consumerGroup","eventId")
);

-- CreateIndex
CREATE UNIQUE INDEX "Organization_slug_key" ON "users"."Organization"("slug");

-- CreateIndex
CREATE INDEX "User_organizationId_createdAt_id_idx" ON "users"."User"("organizationId", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "User_organizationId_email_key" ON "users"."User"("organizationId", "email");

-- CreateIndex
CREATE INDEX "Membership_organizationId_createdAt_id_idx" ON "users"."Membership"("organizationId", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Membership_organizationId_userId_key" ON "users"."Membership"("organizationId", "userId");

-- CreateIndex
CREATE UNIQUE INDEX "Team_organizationId_name_key" ON "users"."Team"("organizationId", "name");

-- CreateIndex
CREATE INDEX "TeamMember_organizationId_userId_idx" ON "users"."TeamMember"("organizationId", "userId");

-- CreateIndex
CREATE INDEX "Workspace_organizationId_createdAt_id_idx" ON "projects"."Workspace"("organizationId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Board_organizationId_createdAt_id_idx" ON "projects"."Board"("organizationId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Board_workspaceId_idx" ON "projects"."Board"("workspaceId");

-- CreateIndex
CREATE INDEX "Group_boardId_position_idx" ON "projects"."Group"("boardId", "position");

-- CreateIndex
CREATE INDEX "Column_boardId_position_idx" ON "projects"."Column"("boardId", "position");

-- CreateIndex
CREATE INDEX "BoardMember_organizationId_userId_idx" ON "projects"."BoardMember"("organizationId", "userId");

-- CreateIndex
CREATE INDEX "Item_boardId_position_id_idx" ON "items"."Item"("boardId", "position", "id");

-- CreateIndex
CREATE INDEX "Item_boardId_createdAt_id_idx" ON "items"."Item"("boardId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Item_organizationId_idx" ON "items"."Item"("organizationId");

-- CreateIndex
CREATE INDEX "ItemAssignee_organizationId_userId_idx" ON "items"."ItemAssignee"("organizationId", "userId");

-- CreateIndex
CREATE INDEX "Subitem_parentItemId_position_idx" ON "items"."Subitem"("parentItemId", "position");

-- CreateIndex
CREATE INDEX "Comment_itemId_createdAt_id_idx" ON "items"."Comment"("itemId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "ActivityLog_boardId_createdAt_id_idx" ON "items"."ActivityLog"("boardId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "ActivityLog_itemId_createdAt_id_idx" ON "items"."ActivityLog"("itemId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Integration_organizationId_createdAt_id_idx" ON "integrations"."Integration"("organizationId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Integration_boardId_idx" ON "integrations"."Integration"("boardId");

-- CreateIndex
CREATE INDEX "Webhook_organizationId_createdAt_id_idx" ON "integrations"."Webhook"("organizationId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Webhook_boardId_idx" ON "integrations"."Webhook"("boardId");

-- CreateIndex
CREATE INDEX "WebhookDelivery_webhookId_createdAt_id_idx" ON "integrations"."WebhookDelivery"("webhookId", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "WebhookDelivery_webhookId_eventId_key" ON "integrations"."WebhookDelivery"("webhookId", "eventId");

-- CreateIndex
CREATE INDEX "OutboxEvent_publishedAt_sequence_idx" ON "events"."OutboxEvent"("publishedAt", "sequence");

-- CreateIndex
CREATE INDEX "OutboxEvent_aggregateId_sequence_idx" ON "events"."OutboxEvent"("aggregateId", "sequence");

-- AddForeignKey
ALTER TABLE "users"."User" ADD CONSTRAINT "User_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "users"."Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "users"."Membership" ADD CONSTRAINT "Membership_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "users"."Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "users"."Membership" ADD CONSTRAINT "Membership_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users"."User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "users"."Team" ADD CONSTRAINT "Team_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "users"."Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "users"."TeamMember" ADD CONSTRAINT "TeamMember_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "users"."Team"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "users"."TeamMember" ADD CONSTRAINT "TeamMember_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users"."User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "projects"."Board" ADD CONSTRAINT "Board_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "projects"."Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "projects"."Group" ADD CONSTRAINT "Group_boardId_fkey" FOREIGN KEY ("boardId") REFERENCES "projects"."Board"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "projects"."Column" ADD CONSTRAINT "Column_boardId_fkey" FOREIGN KEY ("boardId") REFERENCES "projects"."Board"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "projects"."BoardMember" ADD CONSTRAINT "BoardMember_boardId_fkey" FOREIGN KEY ("boardId") REFERENCES "projects"."Board"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "items"."ItemAssignee" ADD CONSTRAINT "ItemAssignee_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "items"."Item"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "items"."ColumnValue" ADD CONSTRAINT "ColumnValue_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "items"."Item"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "items"."Subitem" ADD CONSTRAINT "Subitem_parentItemId_fkey" FOREIGN KEY ("parentItemId") REFERENCES "items"."Item"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "items"."Comment" ADD CONSTRAINT "Comment_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "items"."Item"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "integrations"."WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_webhookId_fkey" FOREIGN KEY ("webhookId") REFERENCES "integrations"."Webhook"("id") ON DELETE CASCADE ON UPDATE CASCADE;
