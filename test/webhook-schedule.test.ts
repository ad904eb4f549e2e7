// subgraphs/integrations/runtime/webhooks/schedule.ts on its own (no services): when a failed
// webhook delivery is retried, and whether it is.
// What it promises: the default schedule follows Svix's and spans about 3 days; each delay is
// jittered within ±20 %; the schedule ends (null) after its last delay; Retry-After (delta-seconds
// or any HTTP-date form) can only lengthen a wait and is capped; responses classify as documented.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_RETRY_SCHEDULE, JITTER, classifyResponse, maxAttempts, nextAttempt, parseRetryAfter } from "../subgraphs/integrations/runtime/webhooks/schedule.ts";

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const fixed = (value: number) => () => value;

describe("retry schedule", () => {
  it("starts like Svix's and spans about 3 days", () => {
    assert.deepEqual(DEFAULT_RETRY_SCHEDULE.slice(0, 7), [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]);
    const total = DEFAULT_RETRY_SCHEDULE.reduce((sum, delay) => sum + delay, 0);
    assert.ok(total >= 66 * HOUR && total <= 78 * HOUR, `total ${total / HOUR} h`);
    assert.equal(maxAttempts(), DEFAULT_RETRY_SCHEDULE.length + 1);
    assert.ok(Object.isFrozen(DEFAULT_RETRY_SCHEDULE));
  });

  it("waits the scheduled delay after each failed attempt when jitter is centred", () => {
    DEFAULT_RETRY_SCHEDULE.forEach((delay, index) => {
      assert.equal(nextAttempt(index + 1, { now: NOW, random: fixed(0.5) }), NOW + delay);
    });
  });

  it("jitters each delay within ±20 %", () => {
    assert.equal(JITTER, 0.2);
    assert.equal(nextAttempt(2, { now: NOW, random: fixed(0) }), NOW + 4 * MINUTE);
    assert.equal(nextAttempt(2, { now: NOW, random: fixed(0.999999999) }), NOW + 6 * MINUTE);
    for (let i = 0; i < 500; i++) {
      const at = nextAttempt(3, { now: NOW }) ?? Number.NaN;
      assert.ok(at >= NOW + 24 * MINUTE && at <= NOW + 36 * MINUTE, `${(at - NOW) / MINUTE} min`);
    }
  });

  it("returns null once the schedule is exhausted", () => {
    assert.notEqual(nextAttempt(DEFAULT_RETRY_SCHEDULE.length, { now: NOW }), null);
    assert.equal(nextAttempt(DEFAULT_RETRY_SCHEDULE.length + 1, { now: NOW }), null);
    assert.equal(nextAttempt(DEFAULT_RETRY_SCHEDULE.length + 1, { now: NOW, retryAfter: 1000 }), null);
    assert.equal(nextAttempt(1, { schedule: [], now: NOW }), null);
    assert.throws(() => nextAttempt(0), RangeError);
    assert.throws(() => nextAttempt(1.5), RangeError);
  });

  it("takes a custom schedule of short delays", () => {
    const schedule = [10, 20];
    assert.equal(nextAttempt(1, { schedule, now: NOW, random: fixed(0.5) }), NOW + 10);
    assert.equal(nextAttempt(2, { schedule, now: NOW, random: fixed(0.5) }), NOW + 20);
    assert.equal(nextAttempt(3, { schedule, now: NOW, random: fixed(0.5) }), null);
    assert.equal(maxAttempts(schedule), 3);
  });

  it("lets Retry-After lengthen a wait but never shorten it", () => {
    assert.equal(nextAttempt(1, { now: NOW, random: fixed(0.5), retryAfter: 2 * MINUTE }), NOW + 2 * MINUTE);
    assert.equal(nextAttempt(1, { now: NOW, random: fixed(0.5), retryAfter: 0 }), NOW + 5 * SECOND);
    assert.equal(nextAttempt(1, { now: NOW, random: fixed(0.5), retryAfter: null }), NOW + 5 * SECOND);
    assert.equal(nextAttempt(4, { now: NOW, random: fixed(0.5), retryAfter: 10 * MINUTE }), NOW + 2 * HOUR);
  });
});

describe("Retry-After", () => {
  it("reads delta-seconds", () => {
    assert.equal(parseRetryAfter("120", NOW), 120 * SECOND);
    assert.equal(parseRetryAfter(" 0 ", NOW), 0);
  });

  it("reads every HTTP-date form, relative to now", () => {
    assert.equal(parseRetryAfter("Thu, 15 Jan 2026 12:01:30 GMT", NOW), 90 * SECOND);
    assert.equal(parseRetryAfter("Thursday, 15-Jan-26 12:01:30 GMT", NOW), 90 * SECOND);
    assert.equal(parseRetryAfter("Thu Jan 15 12:01:30 2026", NOW), 90 * SECOND);
    assert.equal(parseRetryAfter("Thu Jan  1 12:00:00 2026", Date.UTC(2026, 0, 1, 11)), HOUR);
  });

  it("treats a date in the past as no extra wait", () => {
    assert.equal(parseRetryAfter("Wed, 14 Jan 2026 12:00:00 GMT", NOW), 0);
  });

  it("caps at the schedule's longest delay", () => {
    assert.equal(parseRetryAfter("31536000", NOW), Math.max(...DEFAULT_RETRY_SCHEDULE));
    assert.equal(parseRetryAfter("Fri, 15 Jan 2027 12:00:00 GMT", NOW), Math.max(...DEFAULT_RETRY_SCHEDULE));
    assert.equal(parseRetryAfter("3600", NOW, [100, 500]), 500);
  });

  it("ignores absent and garbage values", () => {
    for (const header of [null, undefined, "", "soon", "-5", "1.5", "1e3", "0x10", "120 seconds", "2026-01-15T12:01:30Z", "Thu, 32 Jan 2026 12:01:30 GMT", "tomorrow 1"]) {
      assert.equal(parseRetryAfter(header, NOW), null, String(header));
    }
  });
});

describe("response classification", () => {
  it("treats 2xx as success", () => {
    for (const status of [200, 201, 202, 204, 299]) assert.equal(classifyResponse(status), "success");
  });

  it("retries network errors, timeouts, 408, 429 and 5xx", () => {
    assert.equal(classifyResponse(new TypeError("fetch failed")), "retry");
    assert.equal(classifyResponse(new DOMException("The operation was aborted due to timeout", "TimeoutError")), "retry");
    for (const status of [408, 429, 500, 502, 503, 504, 599]) assert.equal(classifyResponse(status), "retry", String(status));
  });

  it("treats 410 as gone", () => {
    assert.equal(classifyResponse(410), "gone");
  });

  it("fails on other 4xx and on 3xx (redirects are not followed)", () => {
    for (const status of [300, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 409, 413, 422, 499, 100, 600]) {
      assert.equal(classifyResponse(status), "failed", String(status));
    }
  });
});
