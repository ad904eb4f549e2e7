// The product's one reader of the environment. Every variable is declared once in VARIABLES (the
// README's "Environment" table lists exactly these: test/config.test.ts holds the two together),
// and each part reads only what it needs through its accessor below, so `npm test` never asks
// for production secrets and a wrong value stops a process at start-up, naming the variable.
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  customCleanEnv,
  EnvError,
  EnvMissingError,
  makeValidator,
  str,
  type OptionalValidatorSpec,
  type RequiredValidatorSpec,
  type ValidatorSpec,
} from "envalid";
import type { RedisConnection } from "./redis.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

// ─────────────────────────────── value forms ───────────────────────────────

/** A TCP port; 0 asks the OS for a free one (tests, `serve.ts` without PORT). */
const portNumber = makeValidator<number>((input) => {
  const value = Number(input);
  if (!/^\d+$/.test(input) || value > 65_535) throw new EnvError(`expected a port number 0–65535, got "${input}"`);
  return value;
});

const wholeNumber = makeValidator<number>((input) => {
  if (!/^\d+$/.test(input)) throw new EnvError(`expected a whole number of 0 or more, got "${input}"`);
  return Number(input);
});

const positiveInteger = makeValidator<number>((input) => {
  if (!/^[1-9]\d*$/.test(input)) throw new EnvError(`expected a whole number of 1 or more, got "${input}"`);
  return Number(input);
});

/** An absolute URL with one of `protocols` (without the colon). */
const urlWith = (protocols: readonly string[]) =>
  makeValidator<string>((input) => {
    const protocol = URL.parse(input)?.protocol.slice(0, -1);
    if (protocol === undefined || !protocols.includes(protocol)) {
      throw new EnvError(`expected a URL (${protocols.map((name) => `${name}://…`).join(" or ")}), got "${input}"`);
    }
    return input;
  });

const postgresUrl = urlWith(["postgresql", "postgres"]);
const redisUrl = urlWith(["redis", "rediss"]);
const httpUrl = urlWith(["http", "https"]);

/** `500`, `5s`, `5m`, `2h`, `5d`: a duration in milliseconds (a bare number is milliseconds). */
const DURATION_UNITS: Readonly<Record<string, number>> = { "": 1, ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
function durationOf(text: string): number | null {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match?.[1]) return null;
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? ""] ?? 1);
}
const duration = makeValidator<number>((input) => {
  const value = durationOf(input);
  if (value === null || value <= 0) throw new EnvError(`expected a duration like 500ms, 30s, 5m, 2h or 5d, got "${input}"`);
  return value;
});
const durationList = makeValidator<number[]>((input) => {
  const values = input.split(",").map(durationOf);
  if (values.length === 0 || values.some((value) => value === null || value <= 0)) {
    throw new EnvError(`expected durations separated by commas, like 5s,5m,30m,2h, got "${input}"`);
  }
  return values as number[];
});
const booleanFlag = makeValidator<boolean>((input) => {
  if (input !== "true" && input !== "false") throw new EnvError(`expected true or false, got "${input}"`);
  return input === "true";
});
/** `<id>:<base64 of 32 bytes>[,…]`, the first one current (secret-box.ts checks the keys themselves). */
const keyRingText = makeValidator<string>((input) => {
  if (!/^\s*[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]+={0,2}\s*(,\s*[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]+={0,2}\s*)*$/.test(input)) {
    throw new EnvError("expected <key id>:<base64 32-byte key>[,<key id>:<key>…] (the first one seals new secrets)");
  }
  return input;
});

/** `host:port[,host:port…]`; blanks around commas are ignored, as kafkajs would. */
const brokerList = makeValidator<string[]>((input) => {
  const brokers = input
    .split(",")
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (brokers.length === 0 || brokers.some((broker) => !/^[^\s:,]+:\d{1,5}$/.test(broker))) {
    throw new EnvError(`expected host:port[,host:port…], got "${input}"`);
  }
  return brokers;
});

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// ─────────────────────────────── the declaration ───────────────────────────────

/**
 * Every variable the product reads, with the form of its value. The default can differ per part
 * (PORT is 4000 for `npm start`, 0 for `serve.ts`), so the accessors give it; the README's table
 * says which.
 */
export const VARIABLES = {
  NODE_ENV: str,
  LOG_LEVEL: makeValidator<LogLevel>((input) => {
    if (!(LOG_LEVELS as readonly string[]).includes(input)) throw new EnvError(`expected one of ${LOG_LEVELS.join(", ")}, got "${input}"`);
    return input as LogLevel;
  }),
  DATABASE_URL: postgresUrl,
  PORT: portNumber,
  USERS_PORT: portNumber,
  PROJECTS_PORT: portNumber,
  ITEMS_PORT: portNumber,
  INTEGRATIONS_PORT: portNumber,
  HOST: str,
  INTERNAL_SIGNING_SECRET: str,
  JWT_SECRET: str,
  JWT_ISSUER: str,
  JWT_AUDIENCE: str,
  JWT_JWKS_URL: httpUrl,
  REDIS_URL: redisUrl,
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
  OTEL_TRACES_SAMPLER_ARG: makeValidator<number>((input) => {
    const value = Number(input);
    if (!/^(0|1|0?\.\d+|1\.0+)$/.test(input) || value < 0 || value > 1) throw new EnvError(`expected a share of traces from 0 to 1, like 0.01, got "${input}"`);
    return value;
  }),
  OTEL_SERVICE_NAME: str,
  REDIS_CLUSTER: booleanFlag,
  REDIS_USERNAME: str,
  REDIS_PASSWORD: str,
  REDIS_TLS_CA_FILE: str,
  REDIS_WAIT_REPLICAS: makeValidator<number>((input) => {
    if (!/^\d$/.test(input)) throw new EnvError(`expected a number of replicas 0–9, got "${input}"`);
    return Number(input);
  }),
  KAFKA_BROKERS: brokerList,
  KAFKA_TOPIC_PARTITIONS: positiveInteger,
  KAFKA_REPLICATION_FACTOR: positiveInteger,
  KAFKA_MIN_INSYNC_REPLICAS: positiveInteger,
  KAFKA_RETENTION: duration,
  KAFKA_COMPRESSION: makeValidator<KafkaCompression>((input) => {
    if (input !== "gzip" && input !== "none") throw new EnvError(`expected gzip or none (the codecs kafkajs has without plug-ins), got "${input}"`);
    return input;
  }),
  KAFKA_SASL_MECHANISM: makeValidator<KafkaSaslMechanism>((input) => {
    const mechanism = input.toLowerCase();
    if (mechanism !== "scram-sha-512" && mechanism !== "scram-sha-256") throw new EnvError(`expected scram-sha-512 or scram-sha-256, got "${input}"`);
    return mechanism;
  }),
  KAFKA_SASL_USERNAME: str,
  KAFKA_SASL_PASSWORD: str,
  KAFKA_SASL_PASSWORD_FILE: str,
  KAFKA_SSL: booleanFlag,
  KAFKA_SSL_CA_FILE: str,
  KAFKA_SSL_CERT_FILE: str,
  KAFKA_SSL_KEY_FILE: str,
  USERS_URL: httpUrl,
  PROJECTS_URL: httpUrl,
  ITEMS_URL: httpUrl,
  INTEGRATIONS_URL: httpUrl,
  SUPERGRAPH_PATH: str,
  CORS_ORIGINS: str,
  PGLITE_DATA_DIR: str,
  TEST_DATABASE_URL: postgresUrl,
  TEST_REDIS_URL: redisUrl,
  TEST_CONCURRENCY: positiveInteger,
  KAFKA_DATA_DIR: str,
  SCHEMA_ENGINE_WASM: makeValidator<"package">((input) => {
    if (input !== "package") throw new EnvError(`expected "package" (or unset), got "${input}"`);
    return input;
  }),
  SCHEMA_ENGINE_DEBUG: str,
  WEBHOOK_SECRET_KEYS: keyRingText,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: booleanFlag,
  WEBHOOK_RETRY_SCHEDULE: durationList,
  WEBHOOK_DISABLE_AFTER_FAILURES: positiveInteger,
  WEBHOOK_DISABLE_AFTER: duration,
  SLACK_CLIENT_ID: str,
  SLACK_CLIENT_SECRET: str,
  SLACK_SIGNING_SECRET: str,
  SLACK_API_URL: httpUrl,
  SLACK_AUTHORIZE_URL: httpUrl,
  TEAMS_APP_ID: str,
  TEAMS_APP_PASSWORD: str,
  TEAMS_OPENID_METADATA_URL: httpUrl,
  TEAMS_TOKEN_URL: httpUrl,
  WEB_APP_URL: httpUrl,
  PUBLIC_URL: httpUrl,
  GATEWAY_URL: httpUrl,
  INTEGRATIONS_RUNTIME_URL: httpUrl,
  USAGE_RETENTION: duration,
  OUTBOX_KEEP_PUBLISHED: duration,
  SNAPSHOT_EVERY: positiveInteger,
  EVENT_RETENTION_MONTHS: wholeNumber,
} as const;

export type VariableName = keyof typeof VARIABLES;

/** The names of every declared variable. */
export function declaredVariables(): VariableName[] {
  return Object.keys(VARIABLES) as VariableName[];
}

// ─────────────────────────────── reading ───────────────────────────────

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ReadOptions {
  /** Where the variables come from. @default process.env */
  readonly env?: Environment;
  /**
   * On a missing or malformed value: "exit" prints one line per variable to stderr and exits with
   * status 1 (entry points); "throw" throws a ConfigError (tests). @default "exit"
   */
  readonly onInvalid?: "exit" | "throw";
}

/** What was wrong with the environment, one entry per variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: readonly { readonly variable: string; readonly problem: string }[];

  constructor(problems: readonly { readonly variable: string; readonly problem: string }[]) {
    super(`invalid environment:\n${problems.map(({ variable, problem }) => `  ${variable}: ${problem}`).join("\n")}`);
    this.problems = problems;
  }
}

type Specs = { readonly [K in VariableName]?: ValidatorSpec<unknown> };
type Read<S extends Specs> = {
  readonly [K in keyof S]: S[K] extends OptionalValidatorSpec<infer T> ? T | undefined : S[K] extends RequiredValidatorSpec<infer T> ? T : never;
};

/**
 * Validates the variables `specs` names (declared ones only), through envalid, with a reporter of
 * our own. An empty value counts as unset: compose files pass `${X:-}` for "not configured".
 */
function read<S extends Specs>(specs: S, options: ReadOptions = {}): Read<S> {
  const source = options.env ?? process.env;
  const env = Object.fromEntries(Object.keys(specs).flatMap((name) => (source[name] ? [[name, source[name]]] : [])));
  return customCleanEnv(env, specs, (cleaned) => cleaned as unknown as Read<S>, {
    reporter: ({ errors }) => {
      const problems = Object.entries(errors).flatMap(([variable, error]) =>
        error ? [{ variable, problem: error instanceof EnvMissingError ? `must be set (${error.message})` : error.message }] : [],
      );
      if (problems.length === 0) return;
      const failure = new ConfigError(problems);
      if (options.onInvalid === "throw") throw failure;
      process.stderr.write(`${failure.message}\n`);
      process.exit(1);
    },
  }) as Read<S>;
}

const required = (desc: string) => ({ desc });
const optional = { default: undefined } as const;

/** A data dir as given, relative paths against the repository root. */
const fromRoot = (dir: string) => (isAbsolute(dir) ? dir : resolve(ROOT, dir));

// ─────────────────────────────── the parts ───────────────────────────────
// Each accessor validates everything it reads in one pass (every problem is reported at once),
// from spec fragments shared between parts.

export interface LoggingConfig {
  readonly level: LogLevel;
}

const LOGGING = { LOG_LEVEL: VARIABLES.LOG_LEVEL(optional), NODE_ENV: VARIABLES.NODE_ENV(optional) };

/** LOG_LEVEL; by default "warn" under NODE_ENV=test, else "info". */
export function loggingConfig(options?: ReadOptions): LoggingConfig {
  const env = read(LOGGING, options);
  return { level: env.LOG_LEVEL ?? (env.NODE_ENV === "test" ? "warn" : "info") };
}

/** HS256 settings: development and tests verify and mint with them. */
export interface LocalJwtConfig {
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
}

/** What the gateway verifies tokens with: the identity provider's JWKS, or the local secret. */
export type JwtConfig = { readonly issuer: string; readonly audience: string } & (
  | { readonly secret: string; readonly jwksUrl?: undefined }
  | { readonly jwksUrl: string; readonly secret?: undefined }
);

const DEV_JWT_SECRET = "sunday-development-only-jwt-secret-do-not-deploy";

const LOCAL_JWT = {
  NODE_ENV: VARIABLES.NODE_ENV(optional),
  JWT_SECRET: VARIABLES.JWT_SECRET({ ...optional, requiredWhen: (env) => env.NODE_ENV === "production", desc: "required in production" }),
  JWT_ISSUER: VARIABLES.JWT_ISSUER({ default: "sunday-dev" }),
  JWT_AUDIENCE: VARIABLES.JWT_AUDIENCE({ default: "sunday-api" }),
};
const localJwtOf = (env: Read<typeof LOCAL_JWT>): LocalJwtConfig => ({
  secret: env.JWT_SECRET ?? DEV_JWT_SECRET,
  issuer: env.JWT_ISSUER,
  audience: env.JWT_AUDIENCE,
});

/** JWT_SECRET (a development value unless NODE_ENV=production, where it must be set), JWT_ISSUER, JWT_AUDIENCE. */
export function localJwtConfig(options?: ReadOptions): LocalJwtConfig {
  return localJwtOf(read(LOCAL_JWT, options));
}

/** JWT_JWKS_URL when set (JWT_SECRET is then not needed, even in production), else localJwtConfig(). */
export function jwtConfig(options?: ReadOptions): JwtConfig {
  const env = read({ JWT_JWKS_URL: VARIABLES.JWT_JWKS_URL(optional), JWT_ISSUER: LOCAL_JWT.JWT_ISSUER, JWT_AUDIENCE: LOCAL_JWT.JWT_AUDIENCE }, options);
  if (!env.JWT_JWKS_URL) return localJwtConfig(options);
  return { jwksUrl: env.JWT_JWKS_URL, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE };
}

/** Where Redis is and how to log in; absent when REDIS_URL is not set. */
export interface RedisConfig extends RedisConnection {
  /**
   * Replicas an event appended to a stream must reach before the bridge commits its Kafka offset
   * (WAIT): a failover then loses no acknowledged event. 0 for one node; 1 by default on a cluster.
   */
  readonly waitReplicas: number;
}

const REDIS = {
  REDIS_CLUSTER: VARIABLES.REDIS_CLUSTER({ default: false }),
  REDIS_USERNAME: VARIABLES.REDIS_USERNAME(optional),
  REDIS_PASSWORD: VARIABLES.REDIS_PASSWORD(optional),
  REDIS_TLS_CA_FILE: VARIABLES.REDIS_TLS_CA_FILE(optional),
  REDIS_WAIT_REPLICAS: VARIABLES.REDIS_WAIT_REPLICAS(optional),
};
/** A part that uses Redis when REDIS_URL is set. */
const OPTIONAL_REDIS = { ...REDIS, REDIS_URL: VARIABLES.REDIS_URL(optional) };
function redisOf(url: string, env: Read<typeof REDIS>): RedisConfig;
function redisOf(url: string | undefined, env: Read<typeof REDIS>): RedisConfig | undefined;
function redisOf(url: string | undefined, env: Read<typeof REDIS>): RedisConfig | undefined {
  if (url === undefined) return undefined;
  return {
    url,
    cluster: env.REDIS_CLUSTER,
    username: env.REDIS_USERNAME,
    password: env.REDIS_PASSWORD,
    tlsCaFile: env.REDIS_TLS_CA_FILE,
    waitReplicas: env.REDIS_WAIT_REPLICAS ?? (env.REDIS_CLUSTER ? 1 : 0),
  };
}

/** OpenTelemetry tracing, on when an OTLP endpoint is set. */
export interface TracingConfig {
  readonly endpoint: string;
  readonly sampleRatio: number;
  readonly serviceName: string;
}

/** OTEL_EXPORTER_OTLP_ENDPOINT (absent: tracing off), OTEL_TRACES_SAMPLER_ARG (default 1), OTEL_SERVICE_NAME (default the part). */
export function tracingConfig(part: string, options?: ReadOptions): TracingConfig | undefined {
  const env = read(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: VARIABLES.OTEL_EXPORTER_OTLP_ENDPOINT(optional),
      OTEL_TRACES_SAMPLER_ARG: VARIABLES.OTEL_TRACES_SAMPLER_ARG({ default: 1 }),
      OTEL_SERVICE_NAME: VARIABLES.OTEL_SERVICE_NAME({ default: `sunday-${part}` }),
    },
    options,
  );
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  return { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, sampleRatio: env.OTEL_TRACES_SAMPLER_ARG, serviceName: env.OTEL_SERVICE_NAME };
}

const DEFAULT_KAFKA_BROKERS: readonly string[] = ["127.0.0.1:9092"];

export type KafkaCompression = "gzip" | "none";
export type KafkaSaslMechanism = "scram-sha-512" | "scram-sha-256";

/** What a topic the pipeline creates gets; a topic that exists is never altered. */
export interface KafkaTopicSettings {
  /** @default 12 */
  readonly partitions: number;
  /** @default 1 (one broker; 3 on a cluster) */
  readonly replicationFactor: number;
  /** Replicas an acks=all write must reach. @default 1 (2 on a cluster of 3) */
  readonly minInsyncReplicas: number;
  /** @default 7 days */
  readonly retentionMs: number;
}

/** How clients reach the brokers: TLS and SASL/SCRAM, each off unless configured. Secrets stay in files or the environment. */
export interface KafkaSecurity {
  /** TLS; absent: plaintext. Files are PEM; no CA file: Node's trusted roots. */
  readonly ssl: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string } | undefined;
  /** SASL; absent: none. The password comes from `password` or is read from `passwordFile`. */
  readonly sasl: { readonly mechanism: KafkaSaslMechanism; readonly username: string; readonly password?: string; readonly passwordFile?: string } | undefined;
}

export interface KafkaConfig {
  readonly brokers: string[];
  readonly topics: KafkaTopicSettings;
  /** The producers' codec (topics keep `compression.type=producer`). @default "gzip" */
  readonly compression: KafkaCompression;
  readonly security: KafkaSecurity;
}

type Env = Readonly<Record<string, unknown>>;
const kafkaNeeds = (needed: (env: Env) => boolean, desc: string) => ({ ...optional, requiredWhen: needed, desc });
const saslOn = (env: Env) => env.KAFKA_SASL_MECHANISM !== undefined;
const KAFKA = {
  KAFKA_BROKERS: VARIABLES.KAFKA_BROKERS(optional),
  KAFKA_TOPIC_PARTITIONS: VARIABLES.KAFKA_TOPIC_PARTITIONS({ default: 12 }),
  KAFKA_REPLICATION_FACTOR: VARIABLES.KAFKA_REPLICATION_FACTOR({ default: 1 }),
  KAFKA_MIN_INSYNC_REPLICAS: VARIABLES.KAFKA_MIN_INSYNC_REPLICAS({ default: 1 }),
  KAFKA_RETENTION: VARIABLES.KAFKA_RETENTION({ default: 7 * 86_400_000 }),
  KAFKA_COMPRESSION: VARIABLES.KAFKA_COMPRESSION({ default: "gzip" }),
  KAFKA_SASL_MECHANISM: VARIABLES.KAFKA_SASL_MECHANISM(optional),
  KAFKA_SASL_USERNAME: VARIABLES.KAFKA_SASL_USERNAME(kafkaNeeds(saslOn, "KAFKA_SASL_MECHANISM is set: the SASL user")),
  KAFKA_SASL_PASSWORD: VARIABLES.KAFKA_SASL_PASSWORD(
    kafkaNeeds((env) => saslOn(env) && env.KAFKA_SASL_PASSWORD_FILE === undefined, "KAFKA_SASL_MECHANISM is set: the password, or KAFKA_SASL_PASSWORD_FILE"),
  ),
  KAFKA_SASL_PASSWORD_FILE: VARIABLES.KAFKA_SASL_PASSWORD_FILE(optional),
  KAFKA_SSL: VARIABLES.KAFKA_SSL(optional),
  KAFKA_SSL_CA_FILE: VARIABLES.KAFKA_SSL_CA_FILE(optional),
  KAFKA_SSL_CERT_FILE: VARIABLES.KAFKA_SSL_CERT_FILE(kafkaNeeds((env) => env.KAFKA_SSL_KEY_FILE !== undefined, "set together with KAFKA_SSL_KEY_FILE")),
  KAFKA_SSL_KEY_FILE: VARIABLES.KAFKA_SSL_KEY_FILE(kafkaNeeds((env) => env.KAFKA_SSL_CERT_FILE !== undefined, "set together with KAFKA_SSL_CERT_FILE")),
};
const brokersOf = (env: Read<typeof KAFKA>): string[] => env.KAFKA_BROKERS ?? [...DEFAULT_KAFKA_BROKERS];

/**
 * KAFKA_BROKERS, the topic settings (KAFKA_TOPIC_PARTITIONS, KAFKA_REPLICATION_FACTOR,
 * KAFKA_MIN_INSYNC_REPLICAS, KAFKA_RETENTION), KAFKA_COMPRESSION, and TLS/SASL (KAFKA_SSL*,
 * KAFKA_SASL_*): see the README's environment table for the defaults.
 */
export function kafkaConfig(options?: ReadOptions): KafkaConfig {
  const env = read(KAFKA, options);
  if (env.KAFKA_MIN_INSYNC_REPLICAS > env.KAFKA_REPLICATION_FACTOR) {
    // Every acks=all write would be refused (NOT_ENOUGH_REPLICAS): a mistake, stopped here.
    const problem = `${env.KAFKA_MIN_INSYNC_REPLICAS} is more than KAFKA_REPLICATION_FACTOR (${env.KAFKA_REPLICATION_FACTOR})`;
    const failure = new ConfigError([{ variable: "KAFKA_MIN_INSYNC_REPLICAS", problem }]);
    if (options?.onInvalid === "throw") throw failure;
    process.stderr.write(`${failure.message}\n`);
    process.exit(1);
  }
  const tls = env.KAFKA_SSL ?? (env.KAFKA_SSL_CA_FILE !== undefined || env.KAFKA_SSL_CERT_FILE !== undefined);
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password, KAFKA_SASL_PASSWORD_FILE: passwordFile } = env;
  return {
    brokers: brokersOf(env),
    topics: {
      partitions: env.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: env.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: env.KAFKA_MIN_INSYNC_REPLICAS,
      retentionMs: env.KAFKA_RETENTION,
    },
    compression: env.KAFKA_COMPRESSION,
    security: {
      ssl: tls ? { caFile: env.KAFKA_SSL_CA_FILE, certFile: env.KAFKA_SSL_CERT_FILE, keyFile: env.KAFKA_SSL_KEY_FILE } : undefined,
      sasl: mechanism && username ? { mechanism, username, password, passwordFile } : undefined,
    },
  };
}

/** CORS_ORIGINS as written (comma-separated); the gateway parses it. */
export function corsConfig(options?: ReadOptions): { readonly origins: string | undefined } {
  return { origins: read({ CORS_ORIGINS: VARIABLES.CORS_ORIGINS(optional) }, options).CORS_ORIGINS };
}

const PGLITE = { PGLITE_DATA_DIR: VARIABLES.PGLITE_DATA_DIR({ default: ".data/pglite" }) };

/** The embedded database's data dir (PGLITE_DATA_DIR, relative to the repository root). @default <root>/.data/pglite */
export function pgliteDataDir(options?: ReadOptions): string {
  return fromRoot(read(PGLITE, options).PGLITE_DATA_DIR);
}

export interface StartConfig {
  /** Absent: the embedded PGlite. */
  readonly databaseUrl: string | undefined;
  readonly pgliteDataDir: string;
  /** Absent: rate limits, persisted queries and event streams live in the process. */
  readonly redis: RedisConfig | undefined;
  /** Absent: the in-process event pipeline (KAFKA_BROKERS is only used when set). */
  readonly kafkaBrokers: string[] | undefined;
  /** Absent: a random secret per run. */
  readonly signingSecret: string | undefined;
  readonly development: boolean;
  readonly jwt: LocalJwtConfig;
  readonly ports: { readonly gateway: number; readonly users: number; readonly projects: number; readonly items: number; readonly integrations: number };
}

/** `npm start`: the whole stack in one process. */
export function startConfig(options?: ReadOptions): StartConfig {
  const env = read(
    {
      ...LOCAL_JWT,
      ...PGLITE,
      ...KAFKA,
      ...OPTIONAL_REDIS,
      DATABASE_URL: VARIABLES.DATABASE_URL(optional),
      INTERNAL_SIGNING_SECRET: VARIABLES.INTERNAL_SIGNING_SECRET(optional),
      PORT: VARIABLES.PORT({ default: 4000 }),
      USERS_PORT: VARIABLES.USERS_PORT({ default: 4001 }),
      PROJECTS_PORT: VARIABLES.PROJECTS_PORT({ default: 4002 }),
      ITEMS_PORT: VARIABLES.ITEMS_PORT({ default: 4003 }),
      INTEGRATIONS_PORT: VARIABLES.INTEGRATIONS_PORT({ default: 4004 }),
    },
    options,
  );
  return {
    databaseUrl: env.DATABASE_URL,
    pgliteDataDir: fromRoot(env.PGLITE_DATA_DIR),
    redis: redisOf(env.REDIS_URL, env),
    kafkaBrokers: env.KAFKA_BROKERS,
    signingSecret: env.INTERNAL_SIGNING_SECRET,
    development: env.NODE_ENV !== "production",
    jwt: localJwtOf(env),
    ports: { gateway: env.PORT, users: env.USERS_PORT, projects: env.PROJECTS_PORT, items: env.ITEMS_PORT, integrations: env.INTEGRATIONS_PORT },
  };
}

export type SubgraphName = "users" | "projects" | "items" | "integrations";
export type ServePart = SubgraphName | "gateway";

interface ServeCommon {
  readonly port: number;
  readonly host: string;
  readonly signingSecret: string;
  /** Peers' URLs (USERS_URL, …) that are set. */
  readonly peers: Readonly<Partial<Record<SubgraphName, string>>>;
}
export interface ServeGatewayConfig extends ServeCommon {
  readonly part: "gateway";
  readonly redis: RedisConfig | undefined;
  readonly supergraphPath: string;
  readonly jwt: JwtConfig;
  readonly development: boolean;
  /** Where Slack's and Teams' inbound requests are handed (the integrations runtime); absent: they 404. */
  readonly integrationsRuntimeUrl: string | undefined;
  /** Where API usage batches go (the `api-usage` topic); absent: no usage is recorded. */
  readonly usageBrokers: string[] | undefined;
}
export interface ServeSubgraphConfig extends ServeCommon {
  readonly part: SubgraphName;
  readonly databaseUrl: string;
  /** Where replicas share the nonces of signed requests (a replay is refused by all); absent: per process. */
  readonly redis: RedisConfig | undefined;
}

const PROBES = { PORT: VARIABLES.PORT({ default: 0 }), HOST: VARIABLES.HOST({ default: "0.0.0.0" }) };
const SERVE = {
  ...PROBES,
  INTERNAL_SIGNING_SECRET: VARIABLES.INTERNAL_SIGNING_SECRET(required("the gateway ↔ subgraph HMAC secret, the same in every part")),
  USERS_URL: VARIABLES.USERS_URL(optional),
  PROJECTS_URL: VARIABLES.PROJECTS_URL(optional),
  ITEMS_URL: VARIABLES.ITEMS_URL(optional),
  INTEGRATIONS_URL: VARIABLES.INTEGRATIONS_URL(optional),
};
function serveCommonOf(env: Read<typeof SERVE>): ServeCommon {
  const peers: Partial<Record<SubgraphName, string>> = {};
  if (env.USERS_URL) peers.users = env.USERS_URL;
  if (env.PROJECTS_URL) peers.projects = env.PROJECTS_URL;
  if (env.ITEMS_URL) peers.items = env.ITEMS_URL;
  if (env.INTEGRATIONS_URL) peers.integrations = env.INTEGRATIONS_URL;
  return { port: env.PORT, host: env.HOST, signingSecret: env.INTERNAL_SIGNING_SECRET, peers };
}

/** `node scripts/serve.ts <part>`: one part per process (docker-compose, production). */
export function serveConfig(part: "gateway", options?: ReadOptions): ServeGatewayConfig;
export function serveConfig(part: SubgraphName, options?: ReadOptions): ServeSubgraphConfig;
export function serveConfig(part: ServePart, options?: ReadOptions): ServeGatewayConfig | ServeSubgraphConfig;
export function serveConfig(part: ServePart, options?: ReadOptions): ServeGatewayConfig | ServeSubgraphConfig {
  if (part === "gateway") {
    const env = read(
      {
        ...SERVE,
        ...OPTIONAL_REDIS,
        SUPERGRAPH_PATH: VARIABLES.SUPERGRAPH_PATH({ default: fileURLToPath(new URL("../supergraph.graphql", import.meta.url)) }),
        JWT_JWKS_URL: VARIABLES.JWT_JWKS_URL(optional),
        INTEGRATIONS_RUNTIME_URL: VARIABLES.INTEGRATIONS_RUNTIME_URL(optional),
        KAFKA_BROKERS: VARIABLES.KAFKA_BROKERS(optional),
        // JWT_SECRET is required in production only when no JWKS URL is set.
        ...LOCAL_JWT,
        JWT_SECRET: VARIABLES.JWT_SECRET({
          ...optional,
          requiredWhen: (env) => env.NODE_ENV === "production" && env.JWT_JWKS_URL === undefined,
          desc: "required in production unless JWT_JWKS_URL is set",
        }),
      },
      options,
    );
    const jwt: JwtConfig = env.JWT_JWKS_URL ? { jwksUrl: env.JWT_JWKS_URL, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE } : localJwtOf(env);
    return {
      ...serveCommonOf(env),
      part,
      redis: redisOf(env.REDIS_URL, env),
      supergraphPath: env.SUPERGRAPH_PATH,
      jwt,
      development: env.NODE_ENV !== "production",
      integrationsRuntimeUrl: env.INTEGRATIONS_RUNTIME_URL,
      usageBrokers: env.KAFKA_BROKERS,
    };
  }
  const env = read(
    {
      ...SERVE,
      ...OPTIONAL_REDIS,
      DATABASE_URL: VARIABLES.DATABASE_URL(required("the PostgreSQL the subgraph owns a schema in")),
    },
    options,
  );
  return { ...serveCommonOf(env), part, databaseUrl: env.DATABASE_URL, redis: redisOf(env.REDIS_URL, env) };
}

export interface EventsPartConfig {
  readonly kafkaBrokers: string[];
  /** The probes (/healthz, /readyz). */
  readonly port: number;
  readonly host: string;
}

/** `node events/main.ts relay`: outbox -> Kafka. */
export function relayConfig(options?: ReadOptions): EventsPartConfig & { readonly databaseUrl: string; readonly keepPublishedMs: number } {
  const env = read(
    {
      ...PROBES,
      ...KAFKA,
      DATABASE_URL: VARIABLES.DATABASE_URL(required("the PostgreSQL whose outbox the relay publishes")),
      OUTBOX_KEEP_PUBLISHED: VARIABLES.OUTBOX_KEEP_PUBLISHED({ default: OUTBOX_KEEP_PUBLISHED_MS }),
    },
    options,
  );
  return { databaseUrl: env.DATABASE_URL, kafkaBrokers: brokersOf(env), port: env.PORT, host: env.HOST, keepPublishedMs: env.OUTBOX_KEEP_PUBLISHED };
}

/** How long a published outbox row is kept (the event store keeps the event): a day, to look into what was sent. */
export const OUTBOX_KEEP_PUBLISHED_MS = 86_400_000;

/** `node events/main.ts bridge`: Kafka -> Redis streams. */
export function bridgeConfig(options?: ReadOptions): EventsPartConfig & { readonly redis: RedisConfig } {
  const env = read({ ...PROBES, ...KAFKA, ...REDIS, REDIS_URL: VARIABLES.REDIS_URL(required("the Redis the bridge appends event streams to")) }, options);
  return { redis: redisOf(env.REDIS_URL, env), kafkaBrokers: brokersOf(env), port: env.PORT, host: env.HOST };
}

export interface WebhookConfig {
  /** The key ring that seals webhook secrets; absent under `npm start`, which keeps a development one under .data/. */
  readonly secretKeys: string | undefined;
  /** Deliveries to loopback and private addresses (development only). */
  readonly allowPrivateTargets: boolean;
  /** Delays between attempts, ms; absent: the built-in schedule (about 3 days). */
  readonly retrySchedule: readonly number[] | undefined;
  /** A webhook is switched off after this many failed deliveries in a row… */
  readonly disableAfterFailures: number;
  /** …once it has been failing for at least this long (ms). */
  readonly disableAfterMs: number;
}

/** API usage analytics: how long the per-minute rollups are kept (the integrations runtime and `npm start` delete older ones). */
export function usageConfig(options?: ReadOptions): { readonly retentionMs: number } {
  const env = read({ USAGE_RETENTION: VARIABLES.USAGE_RETENTION({ default: 90 * 86_400_000 }) }, options);
  return { retentionMs: env.USAGE_RETENTION };
}

export interface EventStoreConfig {
  /** An aggregate snapshot every this many versions (the "snapshots" projection). */
  readonly snapshotEvery: number;
  /** Months of the event log kept; 0 keeps it all (events/store/retention.ts). */
  readonly retentionMonths: number;
}

/** The event store's snapshots and retention, for the items subgraph (as-of reads, its projections and maintenance). */
export function eventStoreConfig(options?: ReadOptions): EventStoreConfig {
  const env = read(
    { SNAPSHOT_EVERY: VARIABLES.SNAPSHOT_EVERY({ default: 10 }), EVENT_RETENTION_MONTHS: VARIABLES.EVENT_RETENTION_MONTHS({ default: 0 }) },
    options,
  );
  return { snapshotEvery: env.SNAPSHOT_EVERY, retentionMonths: env.EVENT_RETENTION_MONTHS };
}

/**
 * The outgoing webhooks' settings, for the integrations subgraph (it seals secrets) and the
 * delivery runtime. WEBHOOK_SECRET_KEYS is required where `requireKeys` says (the served parts).
 */
export function webhookConfig(options?: ReadOptions & { readonly requireKeys?: boolean }): WebhookConfig {
  const env = read(
    {
      NODE_ENV: VARIABLES.NODE_ENV(optional),
      WEBHOOK_SECRET_KEYS: options?.requireKeys
        ? VARIABLES.WEBHOOK_SECRET_KEYS(required("the key ring webhook secrets are sealed with, e.g. k1:<base64 of 32 random bytes>"))
        : VARIABLES.WEBHOOK_SECRET_KEYS(optional),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: VARIABLES.WEBHOOK_ALLOW_PRIVATE_TARGETS(optional),
      WEBHOOK_RETRY_SCHEDULE: VARIABLES.WEBHOOK_RETRY_SCHEDULE(optional),
      WEBHOOK_DISABLE_AFTER_FAILURES: VARIABLES.WEBHOOK_DISABLE_AFTER_FAILURES({ default: 10 }),
      WEBHOOK_DISABLE_AFTER: VARIABLES.WEBHOOK_DISABLE_AFTER({ default: 5 * 86_400_000 }),
    },
    options,
  );
  return {
    secretKeys: env.WEBHOOK_SECRET_KEYS,
    allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS ?? env.NODE_ENV !== "production",
    retrySchedule: env.WEBHOOK_RETRY_SCHEDULE,
    disableAfterFailures: env.WEBHOOK_DISABLE_AFTER_FAILURES,
    disableAfterMs: env.WEBHOOK_DISABLE_AFTER,
  };
}

export interface ChatConfig {
  /** Absent unless SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET are all set. */
  readonly slack: { clientId: string; clientSecret: string; signingSecret: string; apiUrl: string; authorizeUrl: string } | undefined;
  /** Absent unless TEAMS_APP_ID and TEAMS_APP_PASSWORD are both set. */
  readonly teams: { appId: string; appPassword: string; openIdMetadataUrl: string; tokenUrl: string } | undefined;
  /** Links in chat messages open the web app here. */
  readonly webUrl: string;
  /** The gateway's public address (Slack's OAuth redirect comes back to it). */
  readonly publicUrl: string;
}

/**
 * The Slack and Teams apps' settings (the integrations runtime). An app is on when its credentials
 * are set; half of them is a mistake and stops the process, naming what is missing.
 */
export function chatConfig(options?: ReadOptions & { readonly defaultUrl?: string }): ChatConfig {
  const pairedWith = (names: readonly string[]) => ({
    ...optional,
    requiredWhen: (env: Readonly<Record<string, unknown>>) => names.some((name) => env[name] !== undefined),
    desc: `set together with ${names.join(", ")}`,
  });
  const env = read(
    {
      SLACK_CLIENT_ID: VARIABLES.SLACK_CLIENT_ID(pairedWith(["SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET"])),
      SLACK_CLIENT_SECRET: VARIABLES.SLACK_CLIENT_SECRET(pairedWith(["SLACK_CLIENT_ID", "SLACK_SIGNING_SECRET"])),
      SLACK_SIGNING_SECRET: VARIABLES.SLACK_SIGNING_SECRET(pairedWith(["SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"])),
      SLACK_API_URL: VARIABLES.SLACK_API_URL({ default: "https://slack.com/api/" }),
      SLACK_AUTHORIZE_URL: VARIABLES.SLACK_AUTHORIZE_URL({ default: "https://slack.com/oauth/v2/authorize" }),
      TEAMS_APP_ID: VARIABLES.TEAMS_APP_ID(pairedWith(["TEAMS_APP_PASSWORD"])),
      TEAMS_APP_PASSWORD: VARIABLES.TEAMS_APP_PASSWORD(pairedWith(["TEAMS_APP_ID"])),
      TEAMS_OPENID_METADATA_URL: VARIABLES.TEAMS_OPENID_METADATA_URL({ default: "https://login.botframework.com/v1/.well-known/openidconfiguration" }),
      TEAMS_TOKEN_URL: VARIABLES.TEAMS_TOKEN_URL({ default: "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token" }),
      WEB_APP_URL: VARIABLES.WEB_APP_URL(optional),
      PUBLIC_URL: VARIABLES.PUBLIC_URL(optional),
    },
    options,
  );
  const fallback = options?.defaultUrl ?? "http://localhost:4000";
  return {
    slack:
      env.SLACK_CLIENT_ID && env.SLACK_CLIENT_SECRET && env.SLACK_SIGNING_SECRET
        ? {
            clientId: env.SLACK_CLIENT_ID,
            clientSecret: env.SLACK_CLIENT_SECRET,
            signingSecret: env.SLACK_SIGNING_SECRET,
            apiUrl: env.SLACK_API_URL,
            authorizeUrl: env.SLACK_AUTHORIZE_URL,
          }
        : undefined,
    teams:
      env.TEAMS_APP_ID && env.TEAMS_APP_PASSWORD
        ? { appId: env.TEAMS_APP_ID, appPassword: env.TEAMS_APP_PASSWORD, openIdMetadataUrl: env.TEAMS_OPENID_METADATA_URL, tokenUrl: env.TEAMS_TOKEN_URL }
        : undefined,
    webUrl: env.WEB_APP_URL ?? env.PUBLIC_URL ?? fallback,
    publicUrl: env.PUBLIC_URL ?? fallback,
  };
}

/** `node scripts/serve.ts integrations-runtime`: Kafka -> webhook deliveries (and its probes). */
export function integrationsRuntimeConfig(options?: ReadOptions): EventsPartConfig & {
  readonly databaseUrl: string;
  readonly gatewayUrl: string | undefined;
  readonly signingSecret: string | undefined;
  /** Where the chat inbound requests' nonces are shared between replicas; absent: per process. */
  readonly redis: RedisConfig | undefined;
} {
  const env = read(
    {
      ...PROBES,
      ...KAFKA,
      ...OPTIONAL_REDIS,
      DATABASE_URL: VARIABLES.DATABASE_URL(required("the PostgreSQL of the webhook delivery queue")),
      GATEWAY_URL: VARIABLES.GATEWAY_URL(optional),
      INTERNAL_SIGNING_SECRET: VARIABLES.INTERNAL_SIGNING_SECRET(optional),
    },
    options,
  );
  return {
    databaseUrl: env.DATABASE_URL,
    kafkaBrokers: brokersOf(env),
    port: env.PORT,
    host: env.HOST,
    gatewayUrl: env.GATEWAY_URL,
    signingSecret: env.INTERNAL_SIGNING_SECRET,
    redis: redisOf(env.REDIS_URL, env),
  };
}

/** `npm run dev-token`: DATABASE_URL when set, else the embedded database; the local JWT settings. */
export function devTokenConfig(options?: ReadOptions): {
  readonly databaseUrl: string | undefined;
  readonly pgliteDataDir: string;
  readonly jwt: LocalJwtConfig;
} {
  const env = read({ ...LOCAL_JWT, ...PGLITE, DATABASE_URL: VARIABLES.DATABASE_URL(optional) }, options);
  return { databaseUrl: env.DATABASE_URL, pgliteDataDir: fromRoot(env.PGLITE_DATA_DIR), jwt: localJwtOf(env) };
}

/** `npm run projections:rebuild`: DATABASE_URL, else the embedded database (a running `npm start`'s, or opened there). */
export function databaseToolConfig(options?: ReadOptions): { readonly databaseUrl: string | undefined; readonly pgliteDataDir: string } {
  const env = read({ ...PGLITE, DATABASE_URL: VARIABLES.DATABASE_URL(optional) }, options);
  return { databaseUrl: env.DATABASE_URL, pgliteDataDir: fromRoot(env.PGLITE_DATA_DIR) };
}

export interface TestConfig {
  /** Test files run at once: each starts a whole stack, and the machine may have two cores. */
  readonly concurrency: number;
  /** Where infra/kafka/start.sh keeps the broker it starts (its pid file). */
  readonly kafkaDataDir: string;
  readonly kafkaBrokers: string[];
  /** Where tests create their throw-away databases. */
  readonly adminDatabaseUrl: string;
  /** The machine's Redis; every test keeps its keys under a prefix of its own. */
  readonly redisUrl: string;
}

/** `npm test` and the suites: the machine's services, never the product's secrets. */
export function testConfig(options?: ReadOptions): TestConfig {
  const env = read(
    {
      ...KAFKA,
      TEST_CONCURRENCY: VARIABLES.TEST_CONCURRENCY({ default: 3 }),
      KAFKA_DATA_DIR: VARIABLES.KAFKA_DATA_DIR({ default: "/tmp/sunday-kafka" }),
      TEST_DATABASE_URL: VARIABLES.TEST_DATABASE_URL({ default: "postgresql://postgres@127.0.0.1:5432/postgres" }),
      TEST_REDIS_URL: VARIABLES.TEST_REDIS_URL({ default: "redis://127.0.0.1:6379" }),
    },
    options,
  );
  return {
    concurrency: env.TEST_CONCURRENCY,
    kafkaDataDir: env.KAFKA_DATA_DIR,
    kafkaBrokers: brokersOf(env),
    adminDatabaseUrl: env.TEST_DATABASE_URL,
    redisUrl: env.TEST_REDIS_URL,
  };
}

/** The database tools' and the seed's default database. */
export const TOOLS_DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/sunday";

/** `npm run migrate`, `migrate:diff`, `seed`: the database they work on. */
export function toolsConfig(options?: ReadOptions): { readonly databaseUrl: string } {
  return { databaseUrl: read({ DATABASE_URL: VARIABLES.DATABASE_URL({ default: TOOLS_DEFAULT_DATABASE_URL }) }, options).DATABASE_URL };
}

/** The schema engine's switches (prisma/tools/schema-engine.ts): SCHEMA_ENGINE_WASM=package, SCHEMA_ENGINE_DEBUG (any value). */
export function schemaEngineConfig(options?: ReadOptions): { readonly forcePackageEngine: boolean; readonly engineDebug: boolean } {
  const env = read({ SCHEMA_ENGINE_WASM: VARIABLES.SCHEMA_ENGINE_WASM(optional), SCHEMA_ENGINE_DEBUG: VARIABLES.SCHEMA_ENGINE_DEBUG(optional) }, options);
  return { forcePackageEngine: env.SCHEMA_ENGINE_WASM === "package", engineDebug: env.SCHEMA_ENGINE_DEBUG !== undefined };
}
