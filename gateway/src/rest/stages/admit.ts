/** Stage 3, admit: the caller's credential and rate limit, as for POST /graphql; REST has no anonymous routes. */
import type { IncomingHttpHeaders } from "node:http";
import type { Caller } from "../../auth/authenticate.ts";
import type { Admit } from "../../execution/admission.ts";
import { problem } from "../problem.ts";
import { refused, type Stage } from "./stage.ts";

export type Admitted = Stage<{ readonly caller: Caller }> & {
  /** X-RateLimit-*: every answer from here on carries them, whatever the outcome. */
  readonly answerHeaders: Readonly<Record<string, string>>;
};

export async function admit(admitRequest: Admit, headers: IncomingHttpHeaders, correlationId: string): Promise<Admitted> {
  const admission = await admitRequest(headers, correlationId);
  if (!admission.ok) {
    const { refusal } = admission;
    const extra = refusal.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: refusal.retryAfterSeconds };
    return { ...refused(problem(refusal.code, refusal.message, extra)), answerHeaders: admission.headers };
  }
  if (!admission.caller) return { ...refused(problem("UNAUTHENTICATED", "A bearer token or API key is required")), answerHeaders: admission.headers };
  return { ok: true, caller: admission.caller, answerHeaders: admission.headers };
}
