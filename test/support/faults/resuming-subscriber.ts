// A boardActivity subscriber that reconnects and resumes like a frontend (see the class comment);
// the fault tests count by name what each one received.
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { sleep } from "../wait.ts";

export const ACTIVITY = `subscription FaultActivity($boardId: ID!, $after: String) {
  boardActivity(boardId: $boardId, after: $after) { cursor eventType itemId data }
}`;

export interface ActivityResult {
  readonly data?: { boardActivity?: { cursor: string; eventType: string; itemId: string | null; data: unknown } } | null;
  readonly errors?: readonly { message: string; extensions?: { code?: string } }[];
}

export interface Delivered {
  readonly name: string;
  readonly cursor: string;
  /** Which subscription (session) of the client delivered it. */
  readonly session: number;
}

/**
 * A boardActivity subscriber that behaves like a frontend: whenever its subscription ends for a
 * reason other than its own choice (the socket closed, SUBSCRIPTION_UNAVAILABLE, SLOW_CONSUMER, the
 * server completed it) it reconnects with a short backoff and resumes with `after: <last cursor>`.
 * On CURSOR_EXPIRED it cannot resume: it subscribes afresh and refetches the state (the item) once
 * the new subscription has delivered its first event, so refetch + events cover everything from then on.
 */
export class ResumingSubscriber {
  readonly events: Delivered[] = [];
  readonly endings: string[] = [];
  cursor: string | undefined;
  sessions = 0;
  expired = 0;
  /** Sessions that subscribed without `after` (the first, and those after CURSOR_EXPIRED): only they may start after a gap. */
  readonly freshSessions = new Set<number>();
  /** The item's name as refetched after CURSOR_EXPIRED, and the index in `events` it was taken at. */
  refetched: { name: string; atEvent: number } | null = null;
  private client: Client | null = null;
  private offline = false;
  private stopped = false;
  private online: (() => void) | null = null;
  private refetchPending = false;
  private loop: Promise<void> | null = null;

  readonly label: string;
  private readonly url: string;
  private readonly token: string;
  private readonly boardId: string;
  private readonly refetch: () => Promise<string>;

  constructor(label: string, url: string, token: string, boardId: string, refetch: () => Promise<string>) {
    this.label = label;
    this.url = url;
    this.token = token;
    this.boardId = boardId;
    this.refetch = refetch;
  }

  start(): void {
    this.loop = this.run();
  }

  names(prefix: string): string[] {
    return this.events.filter((event) => event.name.startsWith(`${prefix}-`)).map((event) => event.name);
  }

  /** The laptop lid closes: the socket goes away and stays away until `goOnline`. */
  goOffline(): void {
    this.offline = true;
    this.client?.terminate();
  }

  goOnline(): void {
    this.offline = false;
    this.online?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.goOnline();
    this.client?.terminate();
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      if (this.offline) {
        await new Promise<void>((resolve) => (this.online = resolve));
        this.online = null;
        continue;
      }
      const before = this.events.length;
      const ending = await this.session();
      if (this.stopped) return;
      if (this.offline) continue; // its own doing
      this.endings.push(ending);
      if (ending === "CURSOR_EXPIRED") {
        // Resuming would hide a gap: start over from now and refetch (see the class comment).
        this.expired += 1;
        this.cursor = undefined;
        this.refetchPending = true;
      }
      attempt = this.events.length > before ? 0 : attempt + 1;
      await sleep(Math.min(100 * 2 ** attempt, 1_000));
    }
  }

  /** One socket and one subscription; resolves with why it ended. */
  private session(): Promise<string> {
    this.sessions += 1;
    const session = this.sessions;
    if (this.cursor === undefined) this.freshSessions.add(session);
    return new Promise<string>((resolve) => {
      let lastError: string | undefined;
      const client = createClient({
        url: `${this.url.replace(/^http/, "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${this.token}` },
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: () => undefined,
        on: { closed: (event) => resolve(`closed ${(event as { code?: number }).code ?? "?"}`) },
      });
      this.client = client;
      client.subscribe<ActivityResult["data"]>(
        { query: ACTIVITY, variables: { boardId: this.boardId, after: this.cursor ?? null } },
        {
          next: (result) => {
            const activity = (result as ActivityResult).data?.boardActivity;
            if (result.errors?.length || !activity) {
              lastError = (result as ActivityResult).errors?.[0]?.extensions?.code ?? "error result";
              return;
            }
            // The event's own change, not the item's current name (that is resolved at delivery time).
            const to = (activity.data as { changes?: { name?: { to?: unknown } } } | null)?.changes?.name?.to;
            if (typeof to === "string") this.events.push({ name: to, cursor: activity.cursor, session });
            this.cursor = activity.cursor;
            if (this.refetchPending) {
              this.refetchPending = false;
              const atEvent = this.events.length - 1;
              this.refetch().then(
                (name) => (this.refetched = { name, atEvent }),
                (error: unknown) => this.endings.push(`refetch failed: ${String(error)}`),
              );
            }
          },
          error: (error) => {
            const code = Array.isArray(error) ? (error[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code : undefined;
            resolve(code ?? (error instanceof Error ? error.message : `closed ${(error as { code?: number }).code ?? "?"}`));
          },
          complete: () => resolve(lastError ?? "completed"),
        },
      );
    }).finally(() => {
      this.client?.terminate();
      this.client = null;
    });
  }
}
