import type DataLoader from "dataloader";
import type { BaseContext } from "../../shared/context.ts";
import { orgOf } from "../../shared/context.ts";
import { byId, groupedBy } from "../../shared/loaders.ts";
import type { ApiKeyModel, MembershipModel, OrganizationModel, TeamModel, UserModel } from "../../../generated/prisma/models.ts";

export interface UsersLoaders {
  readonly organization: DataLoader<string, OrganizationModel | null>;
  readonly user: DataLoader<string, UserModel | null>;
  readonly membership: DataLoader<string, MembershipModel | null>;
  /** The user's active membership in the caller's organisation (zero or one). */
  readonly membershipOfUser: DataLoader<string, MembershipModel[]>;
  readonly team: DataLoader<string, TeamModel | null>;
  readonly apiKey: DataLoader<string, ApiKeyModel | null>;
  readonly teamsOfUser: DataLoader<string, TeamModel[]>;
  readonly usersOfTeam: DataLoader<string, UserModel[]>;
}

export interface UsersContext extends BaseContext {
  readonly loaders: UsersLoaders;
}

export function createUsersContext(base: BaseContext): UsersContext {
  const { prisma } = base;
  // Tenancy: every loader filters by the caller's organisation, read lazily so an anonymous
  // request fails with UNAUTHENTICATED only when it actually reads something.
  const org = () => orgOf(base);
  return {
    ...base,
    loaders: {
      organization: byId((ids) => prisma.organization.findMany({ where: { id: { in: ids, equals: org() } } })),
      user: byId((ids) => prisma.user.findMany({ where: { id: { in: ids }, organizationId: org() } })),
      membership: byId((ids) => prisma.membership.findMany({ where: { id: { in: ids }, organizationId: org() } })),
      membershipOfUser: groupedBy(
        (userIds) => prisma.membership.findMany({ where: { userId: { in: userIds }, organizationId: org(), removedAt: null } }),
        (membership) => membership.userId,
      ),
      team: byId((ids) => prisma.team.findMany({ where: { id: { in: ids }, organizationId: org() } })),
      apiKey: byId((ids) => prisma.apiKey.findMany({ where: { id: { in: ids }, organizationId: org() } })),
      teamsOfUser: groupedBy(
        (userIds) =>
          prisma.teamMember.findMany({
            where: { userId: { in: userIds }, organizationId: org() },
            include: { team: true },
            orderBy: { team: { name: "asc" } },
          }),
        (link) => link.userId,
        (link) => link.team,
      ),
      usersOfTeam: groupedBy(
        (teamIds) =>
          prisma.teamMember.findMany({
            where: { teamId: { in: teamIds }, organizationId: org() },
            include: { user: true },
            orderBy: { user: { name: "asc" } },
          }),
        (link) => link.teamId,
        (link) => link.user,
      ),
    },
  };
}
