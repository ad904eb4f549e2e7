// A writer that renames one item over and over through the gateway ("<prefix>-<n>"): the events
// the fault tests expect are the names of the renames that succeeded.
import type { Harness } from "../harness.ts";
import { sleep, waitFor } from "../wait.ts";

export const UPDATE_ITEM = `mutation FaultRename($input: UpdateItemInput!) { updateItem(input: $input) { id version } }`;

/** Renames one item over and over ("<prefix>-<n>"), keeping the names of the renames that succeeded. */
export class Writer {
  readonly sent: string[] = [];
  readonly failed: string[] = [];
  private stopping = false;
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  private readonly harness: Harness;
  private readonly token: string;
  private readonly itemId: string;
  readonly prefix: string;
  private readonly paceMs: number;

  constructor(harness: Harness, token: string, itemId: string, prefix: string, paceMs = 60) {
    this.harness = harness;
    this.token = token;
    this.itemId = itemId;
    this.prefix = prefix;
    this.paceMs = paceMs;
  }

  start(): this {
    this.loop = this.run();
    return this;
  }

  /** Waits until `more` further renames succeeded. */
  async sends(more: number): Promise<void> {
    const target = this.sent.length + more;
    await waitFor(
      `${target} renames of ${this.prefix}`,
      () => this.sent.length >= target,
      () => `sent ${this.sent.length}, failed ${this.failed.length}`,
    );
  }

  /** Holds the writer after the rename in flight. */
  async pause(): Promise<void> {
    this.gate ??= new Promise((resolve) => (this.openGate = resolve));
    await this.idle;
  }

  resume(): void {
    this.openGate?.();
    this.gate = null;
    this.openGate = null;
  }

  async stop(): Promise<string[]> {
    this.stopping = true;
    this.resume();
    await this.loop;
    return this.sent;
  }

  private idle: Promise<void> = Promise.resolve();

  private async version(): Promise<number> {
    return (await this.harness.prisma.item.findUniqueOrThrow({ where: { id: this.itemId } })).version;
  }

  private async run(): Promise<void> {
    let version = await this.version();
    let n = 0;
    while (!this.stopping) {
      if (this.gate) await this.gate;
      if (this.stopping) return;
      n += 1;
      const name = `${this.prefix}-${n}`;
      let settle: () => void = () => undefined;
      this.idle = new Promise((resolve) => (settle = resolve));
      try {
        const result = await this.harness.gql(this.token, UPDATE_ITEM, { input: { id: this.itemId, expectedVersion: version, name } });
        const updated = result.body.data?.updateItem as { version?: number } | undefined;
        if (result.body.errors || typeof updated?.version !== "number") throw new Error(JSON.stringify(result.body.errors));
        version = updated.version;
        this.sent.push(name);
      } catch {
        // Not counted as sent: the set of expected events is the renames that succeeded.
        this.failed.push(name);
        version = await this.version();
      } finally {
        settle();
      }
      await sleep(this.paceMs);
    }
  }
}
