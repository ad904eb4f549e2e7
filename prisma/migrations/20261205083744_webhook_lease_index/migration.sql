-- CreateIndex
CREATE INDEX "WebhookDelivery_lockedUntil_idx" ON "integrations"."WebhookDelivery"("lockedUntil");
