-- AlterTable
ALTER TABLE "integrations"."ChatNotification" ADD COLUMN     "traceparent" VARCHAR(55);
