/**
 * The signed, expiring, organisation-bound tokens of the install flows: Slack's OAuth `state`, and
 * the code an admin gives the Teams bot (`connect <code>`). Each names the organisation and the
 * admin who asked, so a callback cannot be replayed into another organisation, forged, or used
 * after ten minutes. HS256 with a key derived from the internal signing secret for this use only.
 */
import { hkdfSync } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";
import type { ChatProvider } from "./model.ts";

export interface InstallGrant {
  readonly provider: ChatProvider;
  readonly organizationId: string;
  readonly userId: string;
  /** Limit the integration to this board; null: the whole organisation. */
  readonly boardId: string | null;
  /** Slack: the channel notifications go to (else the one picked while installing, if any). */
  readonly channel: string | null;
}

const AUDIENCE = "sunday-chat-install";
export const INSTALL_GRANT_TTL_SECONDS = 600;

function keyOf(signingSecret: string): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", signingSecret, "sunday", "chat install state", 32));
}

export async function signInstallGrant(grant: InstallGrant, signingSecret: string): Promise<string> {
  return new SignJWT({ provider: grant.provider, org: grant.organizationId, board: grant.boardId, channel: grant.channel })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(grant.userId)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${INSTALL_GRANT_TTL_SECONDS}s`)
    .sign(keyOf(signingSecret));
}

/** The grant, or null when the token is forged, expired, or for another provider. */
export async function verifyInstallGrant(token: string, provider: ChatProvider, signingSecret: string): Promise<InstallGrant | null> {
  try {
    const { payload } = await jwtVerify(token, keyOf(signingSecret), { audience: AUDIENCE, algorithms: ["HS256"], requiredClaims: ["sub", "exp"] });
    if (payload.provider !== provider || typeof payload.org !== "string" || typeof payload.sub !== "string") return null;
    return {
      provider,
      organizationId: payload.org,
      userId: payload.sub,
      boardId: typeof payload.board === "string" ? payload.board : null,
      channel: typeof payload.channel === "string" ? payload.channel : null,
    };
  } catch {
    return null;
  }
}
