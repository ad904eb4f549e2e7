/**
 * Who is who between a chat service and Sunday: which organisation a Slack team or Teams tenant is
 * bound to (one, for good: a second organisation installing the same workspace is refused), and
 * which Sunday user a chat user is. A chat user is mapped by an email the chat service vouches for
 * (Slack: `is_email_confirmed`; Teams: the Entra ID account) to an active member of the bound
 * organisation, and the mapping is kept; the member's role is read fresh on every request, so a
 * demoted or removed member loses their rights in chat at once.
 */
import type { PrismaClient } from "../../../../platform/db.ts";
import { isRole, type Identity } from "../../../../platform/identity.ts";
import { open, seal, type KeyRing } from "../webhooks/secret-box.ts";
import type { ChatProvider } from "./model.ts";

export interface Installation {
  readonly id: string;
  readonly organizationId: string;
  readonly provider: ChatProvider;
  readonly externalId: string;
  readonly botUserId: string | null;
  readonly installedById: string;
  readonly active: boolean;
}

export class WorkspaceTakenError extends Error {
  constructor(provider: ChatProvider) {
    super(`this ${provider === "SLACK" ? "Slack workspace" : "Microsoft Teams tenant"} is connected to another Sunday organization`);
  }
}

const installationColumns = {
  id: true,
  organizationId: true,
  provider: true,
  externalId: true,
  botUserId: true,
  installedById: true,
  uninstalledAt: true,
} as const;

function installationOf(row: {
  id: string;
  organizationId: string;
  provider: string;
  externalId: string;
  botUserId: string | null;
  installedById: string;
  uninstalledAt: Date | null;
}): Installation {
  return { ...row, provider: row.provider as ChatProvider, active: row.uninstalledAt === null };
}

export interface ChatDirectory {
  /**
   * Binds a workspace to an organisation (or renews its token there). Throws WorkspaceTakenError
   * when another organisation holds it, whatever the state of that installation.
   */
  bind(input: {
    provider: ChatProvider;
    externalId: string;
    externalName: string | null;
    organizationId: string;
    installedById: string;
    botToken: string | null;
    botUserId: string | null;
  }): Promise<Installation>;
  find(provider: ChatProvider, externalId: string): Promise<Installation | null>;
  byId(id: string): Promise<Installation | null>;
  /** The bot token in clear, for calls; null once uninstalled. */
  botToken(installationId: string): Promise<string | null>;
  /** app_uninstalled / tokens_revoked: forget the token, stop acting. Returns the organisation's id when one was active. */
  uninstall(provider: ChatProvider, externalId: string): Promise<Installation | null>;
  /**
   * The Sunday identity a chat user acts as, or null (unmapped, not a member any more). `email` is
   * asked only when no mapping is kept yet, and must be one the chat service verified.
   */
  identityOf(installation: Installation, externalUserId: string, email: () => Promise<string | null>): Promise<Identity | null>;
  /** Role check for install flows: the user's identity in the organisation now, or null. */
  member(organizationId: string, userId: string): Promise<Identity | null>;
}

export function createChatDirectory(prisma: PrismaClient, keyRing: KeyRing): ChatDirectory {
  async function member(organizationId: string, userId: string): Promise<Identity | null> {
    const membership = await prisma.membership.findFirst({
      where: { organizationId, userId, removedAt: null, user: { deactivatedAt: null } },
      select: { role: true },
    });
    if (!membership || !isRole(membership.role)) return null;
    return { userId, organizationId, role: membership.role };
  }

  return {
    async bind(input) {
      const botToken = input.botToken === null ? null : seal(input.botToken, keyRing);
      return prisma.$transaction(async (tx) => {
        // Locks the workspace's row (or its gap) so two organisations installing at once cannot both win.
        const existing = await tx.chatInstallation.findUnique({ where: { provider_externalId: { provider: input.provider, externalId: input.externalId } } });
        if (existing && existing.organizationId !== input.organizationId) throw new WorkspaceTakenError(input.provider);
        const data = {
          externalName: input.externalName,
          installedById: input.installedById,
          uninstalledAt: null,
          ...(input.botToken === null ? {} : { botToken, botUserId: input.botUserId }),
        };
        const row = existing
          ? await tx.chatInstallation.update({ where: { id: existing.id }, data, select: installationColumns })
          : await tx.chatInstallation.create({
              data: {
                ...data,
                provider: input.provider,
                externalId: input.externalId,
                organizationId: input.organizationId,
                botToken,
                botUserId: input.botUserId,
              },
              select: installationColumns,
            });
        return installationOf(row);
      });
    },
    async find(provider, externalId) {
      const row = await prisma.chatInstallation.findUnique({ where: { provider_externalId: { provider, externalId } }, select: installationColumns });
      return row ? installationOf(row) : null;
    },
    async byId(id) {
      const row = await prisma.chatInstallation.findUnique({ where: { id }, select: installationColumns });
      return row ? installationOf(row) : null;
    },
    async botToken(installationId) {
      const row = await prisma.chatInstallation.findUnique({ where: { id: installationId }, select: { botToken: true, uninstalledAt: true } });
      if (!row?.botToken || row.uninstalledAt) return null;
      return open(row.botToken, keyRing);
    },
    async uninstall(provider, externalId) {
      const row = await prisma.chatInstallation.findUnique({ where: { provider_externalId: { provider, externalId } }, select: installationColumns });
      if (!row || row.uninstalledAt) return null;
      const updated = await prisma.chatInstallation.update({
        where: { id: row.id },
        data: { uninstalledAt: new Date(), botToken: null },
        select: installationColumns,
      });
      return installationOf(updated);
    },
    async identityOf(installation, externalUserId, email) {
      if (!installation.active) return null;
      const link = await prisma.chatUserLink.findUnique({
        where: { installationId_externalUserId: { installationId: installation.id, externalUserId } },
        select: { userId: true },
      });
      if (link) return member(installation.organizationId, link.userId);
      const address = (await email())?.trim().toLowerCase();
      if (!address) return null;
      const users = await prisma.user.findMany({
        where: { organizationId: installation.organizationId, email: { equals: address, mode: "insensitive" }, deactivatedAt: null },
        select: { id: true },
        take: 2,
      });
      // Two accounts with one address: no guess.
      if (users.length !== 1 || !users[0]) return null;
      const identity = await member(installation.organizationId, users[0].id);
      if (!identity) return null;
      // Two requests of a new user can race here: the first link wins, the second adds nothing.
      await prisma.chatUserLink.createMany({
        data: [{ installationId: installation.id, externalUserId, userId: identity.userId, email: address }],
        skipDuplicates: true,
      });
      return identity;
    },
    member,
  };
}
