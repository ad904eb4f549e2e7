/**
 * The gateway's usage recorder: `record()` is called where a request's outcome is known (the
 * observability plugin for /graphql, REST's send stage) and only pushes onto a bounded array. A
 * background timer (or a full batch) hands the buffer to the sink; nothing on the request path
 * awaits anything. When the buffer is full (the sink is slow or down) records are dropped and
 * counted, never queued without bound and never slowing a request.
 */
import { randomUUID } from "node:crypto";
import { Counter, type Registry } from "prom-client";
import type { UsageRecord, UsageSink } from "../../../events/usage.ts";
import type { Logger } from "../../../platform/logger.ts";

export interface UsageRecorderOptions {
  readonly sink: UsageSink;
  /** Where `sunday_gateway_usage_records_dropped_total` is registered. */
  readonly registry: Registry;
  readonly logger: Logger;
  /** Records held at most, those being sent included; more are dropped. @default 10_000 */
  readonly capacity?: number;
  /** A flush starts once this many records wait. @default 500 */
  readonly batchSize?: number;
  /** The longest a record waits for a flush. @default 1_000 */
  readonly flushIntervalMs?: number;
  /** How long dispose() waits for the last flush: a sink that hangs (Kafka away) must not hold shutdown past its grace. @default 2_000 */
  readonly disposeTimeoutMs?: number;
}

export interface UsageRecorder {
  /** Buffers one record (or drops and counts it when the buffer is full). Never throws, never waits. */
  record(record: UsageRecord): void;
  /** Hands everything buffered to the sink and resolves once the sink has taken it (tests, shutdown). */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left, waiting at most `disposeTimeoutMs` for it. */
  dispose(): Promise<void>;
}

export function createUsageRecorder(options: UsageRecorderOptions): UsageRecorder {
  const capacity = options.capacity ?? 10_000;
  const batchSize = Math.min(options.batchSize ?? 500, capacity);
  const dropped = new Counter({
    name: "sunday_gateway_usage_records_dropped_total",
    help: "API usage records dropped instead of slowing requests: buffer_full (the sink is behind) or sink_failed (a batch it refused)",
    labelNames: ["reason"] as const,
    registers: [options.registry],
  });
  let buffer: UsageRecord[] = [];
  /** Records handed to the sink and not yet taken: they count against the capacity too. */
  let sending = 0;
  /** The flush in progress; flushes run one at a time, in order. */
  let inFlight: Promise<void> = Promise.resolve();
  let scheduled = false;

  const sendBuffered = async (): Promise<void> => {
    if (buffer.length === 0) return;
    const records = buffer;
    buffer = [];
    sending += records.length;
    try {
      await options.sink({ id: randomUUID(), records });
    } catch (error) {
      dropped.inc({ reason: "sink_failed" }, records.length);
      options.logger.warn({ err: error, records: records.length }, "usage batch not delivered; dropped");
    } finally {
      sending -= records.length;
    }
  };
  const flush = (): Promise<void> => {
    inFlight = inFlight.then(sendBuffered);
    return inFlight;
  };
  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 1_000);
  timer.unref();

  return {
    record(record) {
      if (buffer.length + sending >= capacity) {
        dropped.inc({ reason: "buffer_full" });
        return;
      }
      buffer.push(record);
      if (buffer.length >= batchSize && !scheduled) {
        // Off the request path: the flush starts after the current request's work.
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          void flush();
        });
      }
    },
    flush,
    async dispose() {
      clearInterval(timer);
      let timeout: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<"timeout">((resolve) => {
        timeout = setTimeout(() => resolve("timeout"), options.disposeTimeoutMs ?? 2_000);
      });
      const outcome = await Promise.race([flush(), gaveUp]);
      clearTimeout(timeout);
      if (outcome === "timeout") options.logger.warn({ records: buffer.length + sending }, "usage sink did not take the last records before shutdown; dropped");
    },
  };
}
