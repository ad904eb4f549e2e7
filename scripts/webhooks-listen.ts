// `node scripts/webhooks-listen.ts [--token <bearer> [--api http://127.0.0.1:4000] [--events project.item.*,…]]
//   [--port 4010] [--secret whsec_…] [--fail <status>] [--verbose]`:
// a local webhook receiver, like `stripe listen`. With --token (an OWNER/ADMIN token: `npm start`
// prints one) it registers a webhook pointing at itself through the API, verifies with the secret
// that returns and deletes the webhook when stopped. Otherwise point a webhook at the URL it prints.
// Each delivery shows up as one line: when, webhook-id, event type, whether its Standard Webhooks
// signature verifies, body size and the status answered. Verified deliveries get 204, badly signed
// ones 401; `--fail 500` answers 500 instead to watch the retries come, `--fail 410` to watch the
// webhook get disabled. Without a secret nothing can be checked: deliveries are shown "unverified".
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { EVENT_TYPE_HEADER } from "../subgraphs/integrations/runtime/webhooks/signature.ts";
import { assertWebhookSecret, type WebhookVerification, verifyWebhook } from "../subgraphs/integrations/runtime/webhooks/verify.ts";

export const DEFAULT_LISTEN_PORT = 4010;
/** Bodies above this are refused with 413 (events are a few kB; this is a local tool, not a sink). */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export interface WebhookListenerOptions {
  /** Port to listen on; 0 picks a free one. @default 4010 */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** The endpoint secret ("whsec_…") to verify with; without it deliveries are accepted unverified. */
  readonly secret?: string;
  /** Status answered to deliveries that pass instead of 204 (500: watch retries; 410: watch the webhook get disabled). */
  readonly fail?: number;
  /** Also print each body, as indented JSON when it is JSON. @default false */
  readonly verbose?: boolean;
  /** Where the lines go. @default console.log */
  readonly print?: (line: string) => void;
  /** Current time, for the timestamp tolerance and the printed time (tests). @default () => new Date() */
  readonly clock?: () => Date;
}

export interface WebhookListener {
  /** Where to point a webhook, e.g. http://127.0.0.1:4010/ (any path is accepted). */
  readonly url: string;
  /** Verifies from now on with this secret (one learnt after the listener started). */
  useSecret(secret: string): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** What one delivery looked like, for its line. */
interface Delivery {
  readonly at: Date;
  readonly id: string;
  readonly eventType: string;
  readonly check: WebhookVerification | null;
  readonly bytes: number;
  readonly status: number;
}

const pad = (value: number) => String(value).padStart(2, "0");

function clockTime(at: Date): string {
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The body's `type` (signed, authoritative), else the unsigned header; says so when they disagree. */
function eventType(request: IncomingMessage, body: unknown): string {
  const fromHeader = request.headers[EVENT_TYPE_HEADER];
  const headerType = typeof fromHeader === "string" ? fromHeader : undefined;
  const bodyType = typeof body === "object" && body !== null && "type" in body && typeof body.type === "string" ? body.type : undefined;
  if (bodyType === undefined) return headerType ?? "-";
  if (headerType !== undefined && headerType !== bodyType) return `${bodyType} (header says ${headerType})`;
  return bodyType;
}

function deliveryLine(delivery: Delivery): string {
  const verdict = delivery.check === null ? "? unverified" : delivery.check.ok ? "✓ verified" : `✗ ${delivery.check.message}`;
  return `${clockTime(delivery.at)}  ${delivery.id}  ${delivery.eventType}  ${verdict}  ${size(delivery.bytes)}  → ${delivery.status}`;
}

function readBody(request: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    request.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_BODY_BYTES) {
        request.removeAllListeners("data");
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function checkStatus(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

/** Starts the receiver; resolves once it listens. */
export async function startWebhookListener(options: WebhookListenerOptions = {}): Promise<WebhookListener> {
  const { verbose = false, print = console.log, clock = () => new Date() } = options;
  let secret = options.secret;
  const host = options.host ?? "127.0.0.1";
  const port = checkStatus("port", options.port ?? DEFAULT_LISTEN_PORT, 0, 65_535);
  const fail = options.fail === undefined ? undefined : checkStatus("fail", options.fail, 200, 599);
  // A wrong secret should stop the start, not turn every delivery into a ✗.
  if (secret !== undefined) assertWebhookSecret(secret);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "POST") {
      response.writeHead(405, { allow: "POST", "content-type": "text/plain" }).end("webhooks-listen accepts POST only\n");
      return;
    }
    const raw = await readBody(request);
    if (raw === null) {
      response.writeHead(413, { "content-type": "text/plain", connection: "close" }).end("body too large\n");
      print(`${clockTime(clock())}  refused a body over ${size(MAX_BODY_BYTES)}  → 413`);
      return;
    }
    const at = clock();
    const check = secret === undefined ? null : verifyWebhook(secret, request.headers, raw, at);
    const text = raw.toString("utf8");
    const body = parseJson(text);
    const status = check !== null && !check.ok ? 401 : (fail ?? 204);
    const idHeader = request.headers["webhook-id"];
    print(deliveryLine({ at, id: typeof idHeader === "string" ? idHeader : "-", eventType: eventType(request, body), check, bytes: raw.length, status }));
    if (verbose) print(body === undefined ? text : JSON.stringify(body, null, 2));
    // The answer's body lands in the delivery log (responseExcerpt): say why.
    if (status === 204) response.writeHead(204).end();
    else if (status === 401 && check !== null && !check.ok) response.writeHead(401, { "content-type": "text/plain" }).end(`${check.message}\n`);
    else response.writeHead(status, { "content-type": "text/plain" }).end(`webhooks-listen --fail ${status}\n`);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      print(`${clockTime(clock())}  could not handle a request: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) response.writeHead(500).end();
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}/`,
    useSecret(next) {
      assertWebhookSecret(next);
      secret = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

const USAGE =
  "usage: node scripts/webhooks-listen.ts [--token <OWNER/ADMIN bearer token> [--api http://127.0.0.1:4000] [--events project.item.*,…]] [--port 4010] [--secret whsec_…] [--fail <status>] [--verbose]";

interface Registered {
  readonly id: string;
  readonly secret: string;
  /** Deletes the webhook again. */
  remove(): Promise<void>;
}

/** Registers a webhook for `url` through the API's GraphQL endpoint, as the token's holder. */
export async function registerWebhook(api: string, token: string, url: string, events: readonly string[]): Promise<Registered> {
  const call = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const response = await fetch(new URL("/graphql", api), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const result = (await response.json()) as { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
    if (!result.data || result.errors?.length) {
      throw new Error(
        `the API refused: ${result.errors?.map((error) => `${error.message} (${error.extensions?.code ?? response.status})`).join("; ") ?? response.status}`,
      );
    }
    return result.data;
  };
  const { createWebhook } = await call<{ createWebhook: { webhook: { id: string; version: number }; secret: string } }>(
    "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id version } secret } }",
    { input: { url, events } },
  );
  const { id, version } = createWebhook.webhook;
  return {
    id,
    secret: createWebhook.secret,
    async remove() {
      await call("mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) { id } }", { input: { id, expectedVersion: version } });
    },
  };
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new RangeError(`--${name} must be a whole number, got ${value}`);
  return Number(value);
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: "string" },
      secret: { type: "string" },
      token: { type: "string" },
      api: { type: "string", default: "http://127.0.0.1:4000" },
      events: { type: "string", default: "project.item.*" },
      fail: { type: "string" },
      verbose: { type: "boolean", short: "v", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const listener = await startWebhookListener({
    port: integer("port", values.port),
    secret: values.secret,
    fail: integer("fail", values.fail),
    verbose: values.verbose,
  });
  console.log(`Listening for Sunday webhooks on ${listener.url}`);
  let registered: Registered | null = null;
  if (values.token !== undefined) {
    try {
      registered = await registerWebhook(values.api, values.token, listener.url, values.events.split(","));
    } catch (error) {
      await listener.close();
      throw error;
    }
    listener.useSecret(registered.secret);
    console.log(`Registered webhook ${registered.id} for ${values.events} at ${values.api}; it is deleted when you stop.`);
    console.log(`Verifying signatures with its secret ${registered.secret}`);
  } else if (values.secret === undefined) {
    console.log("No --secret given: signatures cannot be checked until you pass the secret createWebhook returned");
    console.log('(--secret whsec_…). Until then every delivery is accepted and marked "unverified".');
  } else {
    console.log(`Verifying signatures with ${values.secret}`);
  }
  if (values.fail !== undefined) console.log(`Answering ${values.fail} to every delivery that passes (--fail).`);
  console.log("Ctrl-C to stop.\n");
  const stop = () => {
    (registered?.remove() ?? Promise.resolve())
      .catch((error: unknown) => console.error(`could not delete webhook ${registered?.id}: ${error instanceof Error ? error.message : String(error)}`))
      .then(() => listener.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (import.meta.main) {
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(USAGE);
    process.exit(2);
  }
}
