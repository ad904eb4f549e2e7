// What the chat-compatible servers received, looked up by item name: for every (name, channel) the
// bench expects, the first message that mentions the name (with the server's own receive time) and
// how many messages mentioned it (more than one is a duplicate). The servers' lists only grow, so
// each message is read once; times come from the servers (Date.now() when they accepted the call),
// never from when the bench happened to look.
import type { ReceivedActivity } from "../../test/support/bot-connector.ts";
import type { SlackPosted } from "../../test/support/slack-server.ts";
import { sleep } from "../subscriptions/lib.ts";

export interface Received {
  readonly channel: string;
  /** Everything the message says, as one searchable string. */
  readonly text: string;
  /** Date.now() at the server when it accepted the message. */
  readonly at: number;
}

export function slackReceived(message: SlackPosted): Received {
  return { channel: message.channel, text: `${message.text}\n${JSON.stringify(message.blocks)}`, at: message.at };
}

/** New messages in a conversation (notifications); replies to an activity (command answers) are not. */
export function teamsReceived(activity: ReceivedActivity): Received | null {
  if (activity.replyToId !== null) return null;
  return { channel: activity.conversationId, text: JSON.stringify(activity.activity), at: activity.at };
}

export interface Expected {
  readonly name: string;
  readonly channel: string;
  /** Date.now() just before the mutation was sent. */
  readonly sentAt: number;
}

export interface Arrival extends Expected {
  /** Server time of the first message naming it; undefined: not received. */
  readonly at: number | undefined;
  /** Messages naming it in its channel. */
  readonly count: number;
}

interface Slot {
  readonly expected: Expected;
  at: number | undefined;
  count: number;
}

/** Watches one server's message list for the names the bench sends. Names must not contain one another. */
export class NameWatch<T> {
  private readonly source: () => readonly T[];
  private readonly read: (item: T) => Received | null;
  private readonly slots: Slot[] = [];
  private scanned = 0;

  constructor(source: () => readonly T[], read: (item: T) => Received | null) {
    this.source = source;
    this.read = read;
    // Only what arrives from now on counts.
    this.scanned = source().length;
  }

  expect(expected: Expected): void {
    this.slots.push({ expected, at: undefined, count: 0 });
  }

  private scan(): void {
    const items = this.source();
    for (; this.scanned < items.length; this.scanned += 1) {
      const item = items[this.scanned];
      const received = item === undefined ? null : this.read(item);
      if (!received) continue;
      for (const slot of this.slots) {
        if (slot.expected.channel !== received.channel || !received.text.includes(slot.expected.name)) continue;
        slot.count += 1;
        slot.at ??= received.at;
      }
    }
  }

  /** Scans what arrived so far. */
  arrivals(): Arrival[] {
    this.scan();
    return this.slots.map((slot) => ({ ...slot.expected, at: slot.at, count: slot.count }));
  }

  missing(): number {
    this.scan();
    return this.slots.filter((slot) => slot.at === undefined).length;
  }

  /** Resolves true once every expected name arrived, false after `timeoutMs`; looks every `everyMs`. */
  async settle(timeoutMs: number, everyMs = 20): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.missing() > 0) {
      if (Date.now() > deadline) return false;
      await sleep(everyMs);
    }
    return true;
  }

  /** Time of the last first arrival (undefined when none arrived). */
  lastAt(): number | undefined {
    const times = this.arrivals().flatMap((arrival) => (arrival.at === undefined ? [] : [arrival.at]));
    return times.length > 0 ? Math.max(...times) : undefined;
  }
}

/** ms from sending to the first arrival, for those that arrived. */
export function latencies(arrivals: readonly Arrival[]): number[] {
  return arrivals.flatMap((arrival) => (arrival.at === undefined ? [] : [arrival.at - arrival.sentAt]));
}
