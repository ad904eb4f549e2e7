-- AlterEnum
ALTER TYPE "integrations"."DeliveryStatus" ADD VALUE 'SKIPPED';

-- AlterTable
ALTER TABLE "integrations"."Webhook" ADD COLUMN     "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "disabledReason" VARCHAR(500),
ADD COLUMN     "failingSince" TIMESTAMPTZ(3),
ADD COLUMN     "previousSecret" VARCHAR(512),
ADD COLUMN     "previousSecretExpiresAt" TIMESTAMPTZ(3),
ADD COLUMN     "suspendedReason" VARCHAR(500),
ALTER COLUMN "secret" SET DATA TYPE VARCHAR(512);

-- AlterTable
ALTER TABLE "integrations"."WebhookDelivery" ADD COLUMN     "correlationId" VARCHAR(200),
ADD COLUMN     "retryBase" INTEGER NOT NULL DEFAULT 0;
