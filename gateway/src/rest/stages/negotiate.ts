/** Stage 1, negotiate: which API version (path prefix or Accept) and which media type answers. */
import type { IncomingHttpHeaders } from "node:http";
import { problem } from "../problem.ts";
import { API_PREFIX, SUPPORTED_VERSIONS, negotiateVersion, type Negotiation } from "../versioning.ts";
import { refused, type Stage } from "./stage.ts";

export type Negotiated = Omit<Extract<Negotiation, { ok: true }>, "ok"> & {
  /** Headers every answer from here on carries. */
  readonly answerHeaders: Readonly<Record<string, string>>;
};

export function negotiate(pathname: string, headers: IncomingHttpHeaders): Stage<Negotiated> {
  const negotiation = negotiateVersion(pathname, headers);
  if (!negotiation.ok) {
    return refused(problem("NOT_ACCEPTABLE", `API version ${negotiation.requested} is not served; supported: ${SUPPORTED_VERSIONS.join(", ")}`));
  }
  // On the bare path the version comes from Accept: caches must key on it.
  return { ...negotiation, answerHeaders: negotiation.base === API_PREFIX ? { vary: "Accept" } : {} };
}
