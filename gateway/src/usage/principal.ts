import type { IncomingHttpHeaders } from "node:http";
import type { PrincipalKind } from "../../../events/usage.ts";

/** Who a usage record is for: the Caller's `user:<id>` / `apikey:<id>` (auth/authenticate.ts), never the credential. */
export function principalOf(principal: string): { readonly principalKind: PrincipalKind; readonly principalId: string } | null {
  const colon = principal.indexOf(":");
  const kind = principal.slice(0, colon);
  if (kind !== "user" && kind !== "apikey") return null;
  return { principalKind: kind, principalId: principal.slice(colon + 1) };
}

/** The User-Agent as a record keeps it: at most 300 characters (a client may send kilobytes). */
export function userAgentOf(headers: IncomingHttpHeaders): string {
  return (headers["user-agent"] ?? "").slice(0, 300);
}
