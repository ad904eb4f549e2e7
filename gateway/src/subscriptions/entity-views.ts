import { LRUCache } from "lru-cache";
import { boardIdOf, itemIdOf, type StreamEvent } from "./events.ts";
import { KeyIndex } from "./key-index.ts";

/**
 * What a subscription's federated answer looks like to the view cache (built by `SubscriptionPayload`
 * for selections that may be cached, see `viewPlanOf` in payload.ts).
 */
export interface ViewPlan {
  /** Response key of the event's item in the answer; null when the selection reads no item. */
  readonly itemKey: string | null;
  /** Response keys of each field selected directly on the item, by field name. */
  readonly itemFields: ReadonlyMap<string, readonly string[]>;
}

/** The alias under which the fetch asks for the item's version, so that a view knows which version it shows. */
export const VIEW_VERSION_KEY = "_viewVersion";

type Data = Readonly<Record<string, unknown>>;

interface View {
  readonly organizationId: string;
  readonly boardId: string;
  readonly itemId: string | null;
  /** The item's version the answer shows (null without an item). */
  readonly version: number | null;
  readonly plan: ViewPlan;
  readonly data: Data;
}

/** The facts of a cached answer: whose, which board and item, and the answer itself. */
export interface ViewFill {
  readonly organizationId: string;
  readonly boardId: string;
  readonly itemId: string | null;
  readonly plan: ViewPlan;
  readonly data: Data;
}

/**
 * What a rename (`project.item.updated` naming no other change) changes on its item, and the new
 * value as the event tells it; null where only a fetch can tell (`updatedAt` is the database's
 * clock): a view that selects such a field is dropped rather than patched. Null overall when the
 * event changes more than the name.
 */
function renamed(event: StreamEvent): ReadonlyMap<string, { readonly value: unknown } | null> | null {
  const changes = event.data.changes;
  if (event.event.eventType !== "project.item.updated" || typeof changes !== "object" || changes === null) return null;
  const fields = new Map<string, { readonly value: unknown } | null>([
    ["version", { value: event.event.version }],
    ["updatedAt", null],
  ]);
  for (const [key, value] of Object.entries(changes)) {
    if (key === "name") {
      const to = (value as { to?: unknown } | null)?.to;
      if (typeof to !== "string") return null;
      fields.set("name", { value: to });
    } else if (!(Array.isArray(value) && value.length === 0)) {
      // Assignees, column values: their views are fetched again.
      return null;
    }
  }
  return fields;
}

export interface EntityViewsOptions {
  /** Views kept at most, the least recently used going first. @default 50_000 */
  readonly maxViews?: number;
  /** The longest a view lives if an event that should have dropped it were lost. @default 300_000 */
  readonly ttlMs?: number;
  /** How long a read waits for the organisation stream's tail before it lets the caller fetch. @default 1_000 */
  readonly waitMs?: number;
  /** Each read: served from a view, or left to a fetch (metrics). */
  readonly onRead?: (result: "hit" | "miss") => void;
}

/**
 * Federated answers to subscription selections, kept per board-shared selection and event entities
 * between events, and kept current by the events themselves: the delivery of a rename needs no
 * subgraph at all.
 *
 * Only answers that `sharing.ts` proves the same for every reader of the board are kept, and only
 * for selections that reach no other item (`viewPlanOf`), so that what an event can change is known
 * from the event: its item's views (patched when the change is a rename of the version they show,
 * dropped otherwise), its board's (board, group and column events), or its organisation's (users,
 * members, teams, anything not known to be narrower). Keys carry the group (`board:<org>:<board>`),
 * so an answer never leaves the board it was fetched for; each subscriber's read right is still
 * checked per event before delivery.
 *
 * Every event of a subscriber's organisation reaches this gateway (its organisation stream is
 * followed while it has a socket), and a view serves an event only once that stream's tail has
 * applied it (`read` waits for that, briefly); when the stream stops being followed (the last
 * socket goes, Redis loses entries) the organisation's views go too. An answer fetched while a change of its organisation
 * was being applied is not kept (`epoch`), so a fetch cannot bring back what an event dropped.
 * `ttlMs` bounds what a lost event could leave behind.
 */
export class EntityViews {
  private readonly views: LRUCache<string, View>;
  private readonly byItem = new KeyIndex();
  private readonly byBoard = new KeyIndex();
  private readonly byOrganization = new KeyIndex();
  /** Bumped by every drop in an organisation: a fill that started before one is refused. */
  private readonly epochs = new Map<string, number>();
  /** Ids of the events the organisation streams' tails have applied lately. */
  private readonly applied: LRUCache<string, true>;
  /** Reads waiting for an organisation stream's tail to apply their event, by event id. */
  private readonly waiting = new Map<string, { readonly done: Promise<boolean>; resolve(applied: boolean): void }>();
  private readonly waitMs: number;

  private readonly onRead: (result: "hit" | "miss") => void;

  constructor(options: EntityViewsOptions = {}) {
    const { maxViews = 50_000, ttlMs = 300_000, waitMs = 1_000, onRead = () => undefined } = options;
    this.waitMs = waitMs;
    this.onRead = onRead;
    this.applied = new LRUCache<string, true>({ max: 20_000 });
    this.views = new LRUCache<string, View>({
      max: maxViews,
      ttl: ttlMs,
      dispose: (view, key, reason) => {
        if (reason !== "set") this.unindex(key, view);
      },
    });
  }

  get size(): number {
    return this.views.size;
  }

  has(key: string): boolean {
    return this.views.has(key);
  }

  /**
   * Brings the views up to `event`: called for every event read, before it is delivered.
   * @param organizationStream read from its organisation's stream, which holds every event of the
   *   organisation in one order (the bridge appends there first): see `read`.
   */
  apply(event: StreamEvent, organizationStream: boolean): void {
    this.applyChange(event);
    if (!organizationStream) return;
    const { eventId } = event.event;
    this.applied.set(eventId, true);
    this.waiting.get(eventId)?.resolve(true);
  }

  private applyChange(event: StreamEvent): void {
    const { eventType, metadata } = event.event;
    // Who is looking at a board changes no entity.
    if (eventType.startsWith("presence.")) return;
    const itemId = itemIdOf(event);
    const boardId = boardIdOf(event);
    if (itemId) {
      for (const key of this.byItem.keys(itemId)) {
        const view = this.views.peek(key);
        if (!view) continue;
        const next = advance(view, event);
        if (next === null) this.drop(key, view);
        else if (next !== view) this.views.set(key, next, { noUpdateTTL: true });
      }
    } else if (boardId) {
      for (const key of this.byBoard.keys(boardId)) this.dropKey(key);
    } else {
      this.forgetOrganization(metadata.organizationId);
    }
  }

  /**
   * The kept answer for `key`, when it is known to show every change up to `event`: the
   * organisation stream's tail has applied `event`, and so every event before it (a user renamed
   * just before the item was), and the view shows the event's item version or a later one. Until
   * then the caller fetches, as it would without views.
   */
  async read(key: string, event: StreamEvent): Promise<Data | undefined> {
    const data = await this.current(key, event);
    this.onRead(data ? "hit" : "miss");
    return data;
  }

  private async current(key: string, event: StreamEvent): Promise<Data | undefined> {
    if (!this.views.has(key) || !(await this.appliedByOrganization(event.event.eventId))) return undefined;
    const view = this.views.get(key);
    if (!view) return undefined;
    const { aggregateType, aggregateId, version } = event.event;
    if (aggregateType === "Item" && aggregateId === view.itemId && (view.version ?? -1) < version) return undefined;
    return view.data;
  }

  /**
   * Whether the organisation stream's tail has applied the event, waiting for it (both tails are
   * woken by one append, the organisation's first) at most `waitMs`.
   */
  private appliedByOrganization(eventId: string): Promise<boolean> | boolean {
    if (this.applied.has(eventId)) return true;
    let wait = this.waiting.get(eventId);
    if (!wait) {
      const { promise, resolve } = Promise.withResolvers<boolean>();
      const timer = setTimeout(() => resolve(false), this.waitMs);
      timer.unref();
      wait = {
        done: promise.finally(() => {
          clearTimeout(timer);
          this.waiting.delete(eventId);
        }),
        resolve,
      };
      this.waiting.set(eventId, wait);
    }
    return wait.done;
  }

  /** Taken before a fetch whose answer may be kept: `keep` refuses it if the organisation changed meanwhile. */
  epoch(organizationId: string): number {
    return this.epochs.get(organizationId) ?? 0;
  }

  keep(key: string, epoch: number, fill: ViewFill): void {
    if (this.epoch(fill.organizationId) !== epoch) return;
    let version: number | null = null;
    if (fill.plan.itemKey !== null) {
      const item = fill.data[fill.plan.itemKey] as Record<string, unknown> | null | undefined;
      const shown = item?.[VIEW_VERSION_KEY];
      // No item (deleted, or not found): nothing to follow.
      if (typeof shown !== "number") return;
      version = shown;
    }
    const view: View = { ...fill, version };
    this.views.set(key, view);
    this.byOrganization.add(view.organizationId, key);
    this.byBoard.add(view.boardId, key);
    if (view.itemId !== null) this.byItem.add(view.itemId, key);
  }

  forgetOrganization(organizationId: string): void {
    this.bump(organizationId);
    for (const key of this.byOrganization.keys(organizationId)) this.views.delete(key);
  }

  clear(): void {
    for (const organizationId of this.byOrganization.ids()) this.bump(organizationId);
    this.views.clear();
    this.applied.clear();
    for (const wait of this.waiting.values()) wait.resolve(false);
  }

  private dropKey(key: string): void {
    const view = this.views.peek(key);
    if (view) this.drop(key, view);
  }

  private drop(key: string, view: View): void {
    this.bump(view.organizationId);
    this.views.delete(key);
  }

  private bump(organizationId: string): void {
    this.epochs.set(organizationId, this.epoch(organizationId) + 1);
  }

  private unindex(key: string, view: View): void {
    this.byOrganization.remove(view.organizationId, key);
    this.byBoard.remove(view.boardId, key);
    if (view.itemId !== null) this.byItem.remove(view.itemId, key);
  }
}

/**
 * The view after an event about its item: itself when it already shows that version or later, a
 * patched copy for a rename of the version it shows, null (drop it) for anything else.
 */
function advance(view: View, event: StreamEvent): View | null {
  const { aggregateType, aggregateId, version } = event.event;
  const ofItem = aggregateType === "Item" && aggregateId === view.itemId;
  if (!ofItem || view.version === null || view.plan.itemKey === null) return null;
  if (view.version >= version) return view;
  const fields = view.version === version - 1 ? renamed(event) : null;
  const item = view.data[view.plan.itemKey] as Record<string, unknown> | null | undefined;
  if (!fields || !item) return null;
  const patched: Record<string, unknown> = { ...item, [VIEW_VERSION_KEY]: version };
  for (const [field, learned] of fields) {
    const responseKeys = view.plan.itemFields.get(field);
    if (!responseKeys) continue;
    if (!learned) return null;
    // Only keys the answer has: a field skipped by @skip/@include stays absent.
    for (const responseKey of responseKeys) if (responseKey in item) patched[responseKey] = learned.value;
  }
  return { ...view, version, data: { ...view.data, [view.plan.itemKey]: patched } };
}
