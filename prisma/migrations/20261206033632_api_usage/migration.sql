-- CreateTable
CREATE TABLE "integrations"."ApiUsageRollup" (
    "organizationId" UUID NOT NULL,
    "minute" TIMESTAMPTZ(3) NOT NULL,
    "surface" VARCHAR(10) NOT NULL,
    "operation" VARCHAR(200) NOT NULL,
    "apiVersion" VARCHAR(20) NOT NULL,
    "principalKind" VARCHAR(10) NOT NULL,
    "principalId" UUID NOT NULL,
    "statusClass" VARCHAR(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "errorCount" INTEGER NOT NULL DEFAULT 0,
    "durationMsSum" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "durationBuckets" INTEGER[],

    CONSTRAINT "ApiUsageRollup_pkey" PRIMARY KEY ("organizationId","minute","surface","operation","apiVersion","principalKind","principalId","statusClass")
);

-- CreateTable
CREATE TABLE "integrations"."ApiUsageBatch" (
    "id" UUID NOT NULL,
    "processedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApiUsageBatch_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ApiUsageRollup_minute_idx" ON "integrations"."ApiUsageRollup"("minute");

-- CreateIndex
CREATE INDEX "ApiUsageBatch_processedAt_idx" ON "integrations"."ApiUsageBatch"("processedAt");
