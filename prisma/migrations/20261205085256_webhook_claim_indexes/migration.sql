-- CreateIndex
CREATE INDEX "WebhookDelivery_lockedUntil_idx" ON "integrations"."WebhookDelivery"("lockedUntil");

-- CreateIndex
CREATE INDEX "WebhookDelivery_status_organizationId_nextAttemptAt_idx" ON "integrations"."WebhookDelivery"("status", "organizationId", "nextAttemptAt");
