-- CreateIndex
CREATE INDEX "ColumnValue_columnId_idx" ON "items"."ColumnValue"("columnId");

-- CreateIndex
CREATE INDEX "Membership_userId_idx" ON "users"."Membership"("userId");

-- CreateIndex
CREATE INDEX "TeamMember_userId_idx" ON "users"."TeamMember"("userId");
