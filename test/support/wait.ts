// Waiting in tests: for a condition to hold (polled, with a deadline that names what was awaited
// and what was seen), or for a cleanup step that must not hang a file.

import { setTimeout as sleep } from "node:timers/promises";

export { sleep };

/** How often waitFor polls its condition. */
const POLL_MS = 50;

/**
 * Polls `condition` until it holds; fails with `describe()` (what was seen) after `timeoutMs`
 * (default 45 s: the slowest fault scenarios wait for a broker's cold start).
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, describe: () => string = () => "", timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}. ${describe()}`);
    await sleep(POLL_MS);
  }
}

/** `promise`, or a failure naming `what` once `ms` have passed. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bounds a cleanup step (default 20 s) so a broken scenario cannot hang the file; a failure is logged, not thrown. */
export async function bounded(what: string, step: () => Promise<unknown>, ms = 20_000): Promise<void> {
  try {
    await within(step(), ms, what);
  } catch (error) {
    console.error(`[cleanup] ${what}:`, error instanceof Error ? error.message : error);
  }
}
