-- AlterTable
ALTER TABLE "integrations"."WebhookDelivery" ADD COLUMN     "lockedUntil" TIMESTAMPTZ(3),
ADD COLUMN     "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "payload" TEXT;

-- CreateTable
CREATE TABLE "integrations"."WebhookAttempt" (
    "id" UUID NOT NULL,
    "deliveryId" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "responseStatus" INTEGER,
    "durationMs" INTEGER NOT NULL,
    "responseExcerpt" VARCHAR(2000),
    "error" VARCHAR(2000),
    "nextAttemptAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WebhookAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "WebhookAttempt_deliveryId_attempt_key" ON "integrations"."WebhookAttempt"("deliveryId", "attempt");

-- CreateIndex
CREATE INDEX "WebhookDelivery_status_nextAttemptAt_idx" ON "integrations"."WebhookDelivery"("status", "nextAttemptAt");

-- AddForeignKey
ALTER TABLE "integrations"."WebhookAttempt" ADD CONSTRAINT "WebhookAttempt_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "integrations"."WebhookDelivery"("id") ON DELETE CASCADE ON UPDATE CASCADE;
