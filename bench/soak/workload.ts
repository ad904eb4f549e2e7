// What the soak's load process (children/load.ts) and the parent share: the kinds of request, the
// fixtures file and the figures of a phase. Apart from load.ts, which runs as soon as it is imported.

export type Kind = "read" | "write" | "rest";
export const KINDS: readonly Kind[] = ["read", "write", "rest"];

export interface LoadBoard {
  readonly id: string;
  readonly organization: number;
  readonly items: readonly { readonly id: string; readonly version: number }[];
}

/** What load.ts reads from `fixturesFile`. */
export interface LoadFixtures {
  /** Per organisation: JWTs of its load users and its partner API keys. */
  readonly organizations: readonly { readonly tokens: readonly string[]; readonly apiKeys: readonly string[] }[];
  /** The boards read and written (the subscribers' boards). */
  readonly boards: readonly LoadBoard[];
}

export interface LoadConfig {
  readonly url: string;
  readonly fixturesFile: string;
}

export interface KindStats {
  /** Latencies (ms) of the answered requests counted in the window. */
  readonly latencies: number[];
  errors: number;
  readonly errorSamples: string[];
}

/** A rename the gateway acknowledged: its event is owed to the board's subscribers and the webhook. */
export interface Rename {
  readonly name: string;
  readonly boardId: string;
  /** Wall-clock ms (lib.ts now()) when it was due. */
  readonly sentAt: number;
}

export interface PhaseStats {
  readonly kinds: Record<Kind, KindStats>;
  readonly renames: Rename[];
  /** Renames answered with an error (or not at all): written or not, their events are neither owed nor unexpected. */
  readonly uncertain: string[];
  /** Seconds the counted window lasted. */
  readonly windowS: number;
  /** Requests still unanswered when the window closed (answered afterwards, not counted). */
  readonly lateAtEnd: number;
}
