// What the fault tests assert about a client's deliveries: counts (sent, delivered, lost,
// duplicates, unexpected) printed as "[faults] ..." lines, exactness, and "never a silent gap".
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { ResumingSubscriber } from "./resuming-subscriber.ts";

export interface Counts {
  readonly client: string;
  readonly sent: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly unexpected: number;
}

export function count(client: string, sent: readonly string[], delivered: readonly string[]): Counts {
  const received = new Set(delivered);
  const expected = new Set(sent);
  return {
    client,
    sent: sent.length,
    delivered: delivered.length,
    lost: sent.filter((name) => !received.has(name)).length,
    duplicates: delivered.length - received.size,
    unexpected: [...received].filter((name) => !expected.has(name)).length,
  };
}

export function report(t: TestContext, scenario: string, counts: readonly Counts[], extra = ""): void {
  for (const c of counts) {
    const line = `[faults] ${scenario} | ${c.client}: sent=${c.sent} delivered=${c.delivered} lost=${c.lost} duplicates=${c.duplicates} unexpected=${c.unexpected}${extra ? ` | ${extra}` : ""}`;
    console.log(line);
    t.diagnostic(line);
  }
}

/** Exactly the renames that succeeded, each once, in the order they were made. */
export function assertExact(counts: Counts, sent: readonly string[], delivered: readonly string[]): void {
  assert.deepEqual(
    { lost: counts.lost, duplicates: counts.duplicates, unexpected: counts.unexpected },
    { lost: 0, duplicates: 0, unexpected: 0 },
    `${counts.client}: sent ${JSON.stringify(sent)}, delivered ${JSON.stringify(delivered)}`,
  );
  assert.deepEqual(delivered, [...sent], `${counts.client}: per-item order`);
}

/**
 * Never a silent gap: what a client received of `sent` is in order and without duplicates, reaches
 * the last rename, and skips renames only where a fresh subscription starts (after CURSOR_EXPIRED,
 * which made the client refetch: refetch + events cover the skipped ones).
 */
export function assertNoSilentGap(who: ResumingSubscriber, prefix: string, sent: readonly string[]): void {
  const events = who.events.filter((event) => event.name.startsWith(`${prefix}-`));
  const names = events.map((event) => event.name);
  assert.equal(new Set(names).size, names.length, `${who.label}: duplicates in ${JSON.stringify(names)}`);
  let next = 0;
  for (const [index, event] of events.entries()) {
    const at = sent.indexOf(event.name);
    assert.ok(at >= next, `${who.label}: ${event.name} out of order or unexpected`);
    if (at > next) {
      const sessionStart = index === 0 || events[index - 1]?.session !== event.session;
      assert.ok(sessionStart && who.freshSessions.has(event.session), `${who.label} silently missed ${JSON.stringify(sent.slice(next, at))} (endings ${JSON.stringify(who.endings)})`);
    }
    next = at + 1;
  }
  assert.equal(next, sent.length, `${who.label}: did not reach the last rename`);
}
