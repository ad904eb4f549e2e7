-- CreateTable
CREATE TABLE "integrations"."ChatInstallation" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "provider" "integrations"."IntegrationType" NOT NULL,
    "externalId" VARCHAR(200) NOT NULL,
    "externalName" VARCHAR(200),
    "botToken" VARCHAR(1024),
    "botUserId" VARCHAR(100),
    "installedById" UUID NOT NULL,
    "uninstalledAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ChatInstallation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "integrations"."ChatUserLink" (
    "id" UUID NOT NULL,
    "installationId" UUID NOT NULL,
    "externalUserId" VARCHAR(200) NOT NULL,
    "userId" UUID NOT NULL,
    "email" VARCHAR(320) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChatUserLink_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "integrations"."ChatConversation" (
    "id" UUID NOT NULL,
    "installationId" UUID NOT NULL,
    "conversationId" VARCHAR(500) NOT NULL,
    "serviceUrl" VARCHAR(2048) NOT NULL,
    "teamId" VARCHAR(500),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "removedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ChatConversation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "integrations"."ChatInboundEvent" (
    "provider" "integrations"."IntegrationType" NOT NULL,
    "eventId" VARCHAR(200) NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChatInboundEvent_pkey" PRIMARY KEY ("provider","eventId")
);

-- CreateTable
CREATE TABLE "integrations"."ChatNotification" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "integrationId" UUID NOT NULL,
    "eventId" UUID NOT NULL,
    "channelKey" VARCHAR(700) NOT NULL,
    "notice" JSONB NOT NULL,
    "status" "integrations"."DeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "error" VARCHAR(2000),
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lockedUntil" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sentAt" TIMESTAMPTZ(3),

    CONSTRAINT "ChatNotification_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ChatInstallation_organizationId_idx" ON "integrations"."ChatInstallation"("organizationId");

-- CreateIndex
CREATE UNIQUE INDEX "ChatInstallation_provider_externalId_key" ON "integrations"."ChatInstallation"("provider", "externalId");

-- CreateIndex
CREATE UNIQUE INDEX "ChatUserLink_installationId_externalUserId_key" ON "integrations"."ChatUserLink"("installationId", "externalUserId");

-- CreateIndex
CREATE UNIQUE INDEX "ChatConversation_installationId_conversationId_key" ON "integrations"."ChatConversation"("installationId", "conversationId");

-- CreateIndex
CREATE INDEX "ChatInboundEvent_receivedAt_idx" ON "integrations"."ChatInboundEvent"("receivedAt");

-- CreateIndex
CREATE INDEX "ChatNotification_status_nextAttemptAt_idx" ON "integrations"."ChatNotification"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "ChatNotification_channelKey_status_nextAttemptAt_idx" ON "integrations"."ChatNotification"("channelKey", "status", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "ChatNotification_integrationId_eventId_channelKey_key" ON "integrations"."ChatNotification"("integrationId", "eventId", "channelKey");

-- AddForeignKey
ALTER TABLE "integrations"."ChatUserLink" ADD CONSTRAINT "ChatUserLink_installationId_fkey" FOREIGN KEY ("installationId") REFERENCES "integrations"."ChatInstallation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "integrations"."ChatConversation" ADD CONSTRAINT "ChatConversation_installationId_fkey" FOREIGN KEY ("installationId") REFERENCES "integrations"."ChatInstallation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
