import type { Identity, Role } from "../../platform/identity.ts";
import { forbidden, unauthenticated } from "./errors.ts";

const WRITERS: ReadonlySet<Role> = new Set(["OWNER", "ADMIN", "MEMBER"]);
const ADMINS: ReadonlySet<Role> = new Set(["OWNER", "ADMIN"]);

export function requireIdentity(identity: Identity | null): Identity {
  if (!identity) throw unauthenticated();
  return identity;
}

/** VIEWER and GUEST read only. */
export function requireWriter(identity: Identity | null): Identity {
  const caller = requireIdentity(identity);
  if (!WRITERS.has(caller.role)) throw forbidden(`Role ${caller.role} cannot make changes`);
  return caller;
}

export function requireAdmin(identity: Identity | null): Identity {
  const caller = requireIdentity(identity);
  if (!ADMINS.has(caller.role)) throw forbidden(`Role ${caller.role} cannot administer the organization`);
  return caller;
}

export function isAdmin(identity: Identity): boolean {
  return ADMINS.has(identity.role);
}

export function isWriter(identity: Identity): boolean {
  return WRITERS.has(identity.role);
}
