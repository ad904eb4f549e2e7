import { DateTimeResolver } from "graphql-scalars";
import type { Resolvers, MembershipRole } from "./generated/resolvers.ts";
import type { UsersContext } from "./context.ts";
import type { Tx } from "../../../platform/db.ts";
import type { MembershipModel } from "../../../generated/prisma/models.ts";
import { requireAdmin, requireIdentity } from "../../shared/authorization.ts";
import { orgOf } from "../../shared/context.ts";
import { badInput, forbidden, notFound } from "../../shared/errors.ts";
import { change, compact, recordEvent, requestOrigin, type EventSource } from "../../shared/outbox.ts";
import { versionedUpdate, versionedWrite } from "../../shared/versioned-write.ts";
import { dateKey, keysetAfter, pageRequest, toConnection } from "../../shared/pagination.ts";
import { BoundedJSON, likeEscaped, optionalSearch, optionalText, requireId, requireText, requireVersion } from "../../shared/validation.ts";
import { generateApiKey, roleAtMost, weakerRole } from "../../../platform/api-keys.ts";
import type { Prisma } from "../../../generated/prisma/client.ts";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function origin(context: UsersContext): EventSource {
  return requestOrigin(context, "users");
}

async function activeMembership(tx: Tx, organizationId: string, userId: string): Promise<MembershipModel> {
  const membership = await tx.membership.findFirst({ where: { organizationId, userId, removedAt: null } });
  if (!membership) throw notFound("Member", userId);
  return membership;
}

/** Only an OWNER may hand out or take away OWNER, and the organisation always keeps one. */
async function guardOwnership(tx: Tx, context: UsersContext, target: MembershipModel, newRole: MembershipRole | null) {
  const caller = requireIdentity(context.identity);
  const touchesOwner = target.role === "OWNER" || newRole === "OWNER";
  if (touchesOwner && caller.role !== "OWNER") throw forbidden("Only an OWNER can grant or remove OWNER");
  if (target.role === "OWNER" && newRole !== "OWNER") {
    const owners = await tx.membership.count({
      where: { organizationId: target.organizationId, role: "OWNER", removedAt: null },
    });
    if (owners <= 1) throw badInput("The organization must keep at least one OWNER", "userId");
  }
}

async function bumpMembership(
  tx: Tx,
  membership: MembershipModel,
  expectedVersion: number | null | undefined,
  data: Prisma.MembershipUpdateManyMutationInput,
): Promise<MembershipModel> {
  return versionedUpdate(tx.membership, {
    type: "Membership",
    id: membership.id,
    expectedVersion: expectedVersion == null ? membership.version : requireVersion(expectedVersion),
    where: { organizationId: membership.organizationId },
    data,
    current: { id: membership.id },
  });
}

export const resolvers: Resolvers = {
  DateTime: DateTimeResolver,
  JSON: BoundedJSON,

  Query: {
    async me(_parent, _args, context) {
      const { userId } = requireIdentity(context.identity);
      const user = await context.loaders.user.load(userId);
      if (!user) throw notFound("User", userId);
      return user;
    },
    async organization(_parent, _args, context) {
      const organizationId = orgOf(context);
      const organization = await context.loaders.organization.load(organizationId);
      if (!organization) throw notFound("Organization", organizationId);
      return organization;
    },
    user: (_parent, { id }, context) => context.loaders.user.load(requireId(id, "id")),
    team: (_parent, { id }, context) => context.loaders.team.load(requireId(id, "id")),
    async apiKeys(_parent, args, context) {
      const caller = requireAdmin(context.identity);
      const page = pageRequest(args, "date");
      const rows = await context.prisma.apiKey.findMany({
        where: {
          organizationId: caller.organizationId,
          AND: keysetAfter<Prisma.ApiKeyWhereInput>("createdAt", "desc", page.after, dateKey),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.size + 1,
      });
      return toConnection(rows, page, (key) => ({ key: key.createdAt.toISOString(), id: key.id }));
    },
    async _apiKeyPrincipal(_parent, { hash }, context) {
      // Only the gateway asks this, as itself (a signed request without a user identity).
      if (context.identity) throw forbidden("Not available to users");
      if (!/^[0-9a-f]{64}$/.test(hash)) return null;
      const key = await context.prisma.apiKey.findUnique({ where: { hash } });
      if (!key || key.revokedAt) return null;
      const creator = await context.prisma.membership.findFirst({
        where: { organizationId: key.organizationId, userId: key.createdById, removedAt: null },
      });
      if (!creator) return null;
      await context.prisma.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date() } });
      return {
        apiKeyId: key.id,
        userId: key.createdById,
        organizationId: key.organizationId,
        role: weakerRole(key.role, creator.role),
      };
    },
    async users(_parent, args, context) {
      const organizationId = orgOf(context);
      const page = pageRequest(args, "date");
      const found = optionalSearch(args.filter?.search, "filter.search");
      const search = found === undefined ? undefined : likeEscaped(found);
      const rows = await context.prisma.user.findMany({
        where: {
          organizationId,
          ...(args.filter?.role ? { memberships: { some: { role: args.filter.role, removedAt: null } } } : {}),
          ...(search ? { OR: [{ name: { contains: search, mode: "insensitive" } }, { email: { contains: search, mode: "insensitive" } }] } : {}),
          AND: keysetAfter<Prisma.UserWhereInput>("createdAt", "desc", page.after, dateKey),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: page.size + 1,
      });
      return toConnection(rows, page, (user) => ({ key: user.createdAt.toISOString(), id: user.id }));
    },
  },

  Mutation: {
    async inviteMember(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const email = requireText(input.email, "email", { max: 320 }).toLowerCase();
      if (!EMAIL.test(email)) throw badInput("email is not a valid address", "email");
      const name = requireText(input.name, "name", { max: 200 });
      if (input.role === "OWNER" && caller.role !== "OWNER") throw forbidden("Only an OWNER can grant OWNER");
      return context.prisma.$transaction(async (tx) => {
        const organizationId = caller.organizationId;
        let user = await tx.user.findUnique({ where: { organizationId_email: { organizationId, email } } });
        if (!user) {
          user = await tx.user.create({ data: { organizationId, email, name } });
          await recordEvent(tx, origin(context), {
            eventType: "user.created",
            aggregateType: "User",
            aggregateId: user.id,
            version: user.version,
            data: { userId: user.id, email, name },
          });
        }
        const existing = await tx.membership.findUnique({
          where: { organizationId_userId: { organizationId, userId: user.id } },
        });
        if (existing && !existing.removedAt) throw badInput(`${email} is already a member`, "email");
        const membership = existing
          ? await bumpMembership(tx, existing, null, { role: input.role, removedAt: null })
          : await tx.membership.create({ data: { organizationId, userId: user.id, role: input.role } });
        await recordEvent(tx, origin(context), {
          eventType: "member.added",
          aggregateType: "Membership",
          aggregateId: membership.id,
          version: membership.version,
          data: { userId: user.id, role: membership.role },
        });
        return membership;
      });
    },

    async removeMember(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const userId = requireId(input.userId, "userId");
      return context.prisma.$transaction(async (tx) => {
        const target = await activeMembership(tx, caller.organizationId, userId);
        await guardOwnership(tx, context, target, null);
        const membership = await bumpMembership(tx, target, input.expectedVersion, { removedAt: new Date() });
        await recordEvent(tx, origin(context), {
          eventType: "member.removed",
          aggregateType: "Membership",
          aggregateId: membership.id,
          version: membership.version,
          data: { userId, role: target.role },
        });
        return membership;
      });
    },

    async changeMemberRole(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const userId = requireId(input.userId, "userId");
      return context.prisma.$transaction(async (tx) => {
        const target = await activeMembership(tx, caller.organizationId, userId);
        await guardOwnership(tx, context, target, input.role);
        const membership = await bumpMembership(tx, target, input.expectedVersion, { role: input.role });
        await recordEvent(tx, origin(context), {
          eventType: "member.role_changed",
          aggregateType: "Membership",
          aggregateId: membership.id,
          version: membership.version,
          data: { userId, changes: { role: { from: target.role, to: input.role } } },
        });
        return membership;
      });
    },

    async createApiKey(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const name = requireText(input.name, "name", { max: 200 });
      const role = input.role ?? caller.role;
      if (!roleAtMost(role, caller.role)) throw forbidden(`A key cannot have more than your role (${caller.role})`);
      const { secret, prefix, hash } = generateApiKey();
      return context.prisma.$transaction(async (tx) => {
        const apiKey = await tx.apiKey.create({
          data: { organizationId: caller.organizationId, name, prefix, hash, role, createdById: caller.userId },
        });
        await recordEvent(tx, origin(context), {
          eventType: "api_key.created",
          aggregateType: "ApiKey",
          aggregateId: apiKey.id,
          version: apiKey.version,
          data: { apiKeyId: apiKey.id, name, prefix, role },
        });
        return { apiKey, secret };
      });
    },

    async revokeApiKey(_parent, { input }, context) {
      const caller = requireAdmin(context.identity);
      const id = requireId(input.id, "id");
      const expectedVersion = requireVersion(input.expectedVersion);
      return context.prisma.$transaction(async (tx) => {
        const live = { organizationId: caller.organizationId, revokedAt: null };
        return versionedWrite(tx, origin(context), tx.apiKey, {
          type: "ApiKey",
          id,
          expectedVersion,
          where: live,
          data: { revokedAt: new Date() },
          current: { id, ...live },
          event: () => ({ eventType: "api_key.revoked", data: { apiKeyId: id } }),
        });
      });
    },

    async updateProfile(_parent, { input }, context) {
      const caller = requireIdentity(context.identity);
      const name = input.name == null ? undefined : requireText(input.name, "name", { max: 200 });
      const title = optionalText(input.title, "title", { max: 200 });
      const avatarUrl = optionalText(input.avatarUrl, "avatarUrl", { max: 2048 });
      return context.prisma.$transaction(async (tx) => {
        const before = await tx.user.findFirst({ where: { id: caller.userId, organizationId: caller.organizationId } });
        if (!before) throw notFound("User", caller.userId);
        return versionedWrite(tx, origin(context), tx.user, {
          type: "User",
          id: before.id,
          expectedVersion: input.expectedVersion == null ? before.version : requireVersion(input.expectedVersion),
          where: { organizationId: caller.organizationId },
          data: { name, title, avatarUrl },
          current: { id: before.id },
          event: (user) => ({
            eventType: "user.updated",
            data: {
              userId: user.id,
              changes: compact({
                name: change(before.name, name),
                title: change(before.title, title),
                avatarUrl: change(before.avatarUrl, avatarUrl),
              }),
            },
          }),
        });
      });
    },
  },

  ApiKey: {
    __resolveReference: (reference, context) => context.loaders.apiKey.load(reference.id),
    async createdBy(key, _args, context) {
      const user = await context.loaders.user.load(key.createdById);
      if (!user) throw notFound("User", key.createdById);
      return user;
    },
  },

  Organization: {
    __resolveReference: (reference, context) => context.loaders.organization.load(reference.id),
    async members(organization, args, context) {
      const page = pageRequest(args, "date");
      const rows = await context.prisma.membership.findMany({
        where: {
          organizationId: organization.id,
          removedAt: null,
          ...(args.role ? { role: args.role } : {}),
          AND: keysetAfter<Prisma.MembershipWhereInput>("createdAt", "asc", page.after, dateKey),
        },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: page.size + 1,
      });
      return toConnection(rows, page, (membership) => ({ key: membership.createdAt.toISOString(), id: membership.id }));
    },
    teams: (organization, _args, context) => context.prisma.team.findMany({ where: { organizationId: organization.id }, orderBy: { name: "asc" } }),
  },

  User: {
    __resolveReference: (reference, context) => context.loaders.user.load(reference.id),
    async role(user, _args, context) {
      const [membership] = await context.loaders.membershipOfUser.load(user.id);
      return membership?.role ?? null;
    },
    async organization(user, _args, context) {
      const organization = await context.loaders.organization.load(user.organizationId);
      if (!organization) throw notFound("Organization", user.organizationId);
      return organization;
    },
    teams: (user, _args, context) => context.loaders.teamsOfUser.load(user.id),
  },

  Membership: {
    __resolveReference: (reference, context) => context.loaders.membership.load(reference.id),
    async user(membership, _args, context) {
      const user = await context.loaders.user.load(membership.userId);
      if (!user) throw notFound("User", membership.userId);
      return user;
    },
  },

  Team: {
    __resolveReference: (reference, context) => context.loaders.team.load(reference.id),
    members: (team, _args, context) => context.loaders.usersOfTeam.load(team.id),
  },
};
