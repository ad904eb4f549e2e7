-- CreateTable
CREATE TABLE "items"."BoardAccess" (
    "boardId" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "kind" VARCHAR(20) NOT NULL,
    "ownerId" UUID NOT NULL,
    "archived" BOOLEAN NOT NULL,
    "version" INTEGER NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BoardAccess_pkey" PRIMARY KEY ("boardId")
);

-- CreateTable
CREATE TABLE "items"."BoardAccessShare" (
    "boardId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "permission" VARCHAR(20) NOT NULL,

    CONSTRAINT "BoardAccessShare_pkey" PRIMARY KEY ("boardId","userId")
);
