import { pino, type Logger } from "pino";
import { loggingConfig } from "./config.ts";
import { logTraceFields } from "./tracing.ts";

export type { Logger };

/**
 * JSON logs at LOG_LEVEL (platform/config.ts); tokens, secrets and signatures are redacted wherever
 * they appear in a log record. With tracing on, each line carries the active span's trace_id and span_id.
 */
export function createLogger(name: string): Logger {
  return pino({
    name,
    level: loggingConfig().level,
    mixin: logTraceFields,
    redact: {
      paths: ["authorization", "*.authorization", "headers.authorization", '*["x-sunday-signature"]', "token", "secret"],
      censor: "[redacted]",
    },
  });
}
