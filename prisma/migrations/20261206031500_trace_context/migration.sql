-- AlterTable
ALTER TABLE "events"."OutboxEvent" ADD COLUMN     "traceparent" VARCHAR(55);

-- AlterTable
ALTER TABLE "integrations"."WebhookDelivery" ADD COLUMN     "traceparent" VARCHAR(55);
