// A Slack-compatible server for tests and benchmarks: a real HTTP server on 127.0.0.1 speaking the
// part of Slack's Web API the connector uses (oauth.v2.access, users.info, chat.postMessage,
// auth.test) the way @slack/web-api's WebClient calls it (form-encoded POST, bearer token or a
// `token` field; JSON bodies accepted too), plus response_url endpoints. It records what it
// accepted so a test waits for the nth message instead of sleeping, and it fails on demand: 429
// with Retry-After or 5xx for the next N requests, or down() (port closed, sockets cut) and up()
// again on the same port. slackRequest() is the other direction: a request signed as Slack signs
// them, for our inbound endpoints.
import { Recorded } from "./recorded.ts";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { signSlackRequest } from "../../subgraphs/integrations/runtime/chat/slack/signature.ts";

export interface SlackInstall {
  readonly teamId: string;
  readonly teamName: string;
  /** The Slack user who installs (authed_user). */
  readonly userId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The bot token the exchange hands out; a fresh xoxb-… when absent. */
  readonly botToken?: string;
  /** When set, oauth.v2.access must carry this redirect_uri (as Slack checks it). */
  readonly redirectUri?: string;
}

export interface SlackUser {
  readonly id: string;
  readonly email: string;
  /** is_email_confirmed. Default true. */
  readonly verified?: boolean;
  readonly deleted?: boolean;
  readonly bot?: boolean;
}

export interface SlackPosted {
  readonly token: string;
  readonly channel: string;
  readonly text: string;
  readonly blocks: unknown;
  readonly ts: string;
  /** Date.now() when it was accepted. */
  readonly at: number;
}

export interface SlackResponse {
  /** The response_url it was posted to. */
  readonly url: string;
  /** The parsed JSON body (the raw text when it was not JSON). */
  readonly body: unknown;
  readonly at: number;
}

export type SlackFailure = { readonly status: 429; readonly retryAfterSeconds: number } | { readonly status: 500 | 503 };

/** What failNext can target: a Web API method, or every response_url. */
export type SlackFailTarget = "chat.postMessage" | "users.info" | "oauth.v2.access" | "auth.test" | "response_url";

export interface SlackServer {
  /** For WebClient's slackApiUrl, e.g. "http://127.0.0.1:PORT/api/". */
  readonly apiUrl: string;
  /** Shared with the app under test; slackRequest signs with it. */
  readonly signingSecret: string;
  /** A one-time OAuth code that oauth.v2.access exchanges for this install. */
  issueCode(install: SlackInstall): string;
  addUser(teamId: string, user: SlackUser): void;
  /** The token stops working: calls with it answer `token_revoked`. */
  revoke(token: string): void;
  /** Every accepted chat.postMessage, in order. */
  readonly messages: readonly SlackPosted[];
  /** Resolves once `count` messages were accepted; rejects after `timeoutMs` (default 10 s). */
  waitForMessages(count: number, timeoutMs?: number): Promise<readonly SlackPosted[]>;
  /** A fresh response_url on this server; what is POSTed to it lands in `responses`. */
  responseUrl(): string;
  readonly responses: readonly SlackResponse[];
  waitForResponses(count: number, timeoutMs?: number): Promise<readonly SlackResponse[]>;
  /** The next `count` requests to `target` (default chat.postMessage) fail so. */
  failNext(count: number, failure: SlackFailure, target?: SlackFailTarget): void;
  /** Stop accepting: the listener closes and open sockets are cut (calls get ECONNREFUSED). */
  down(): Promise<void>;
  /** Listen again, on the same port. */
  up(): Promise<void>;
  /** Requests that reached `method` (a Web API method or "response_url"), failed ones included. */
  requests(method: string): number;
  close(): Promise<void>;
}

interface Bot {
  readonly teamId: string;
  readonly teamName: string;
  readonly botUserId: string;
  readonly appId: string;
  readonly userId: string;
}

type Fields = Record<string, unknown>;

const BOT_SCOPES = "app_mentions:read,channels:read,chat:write,commands,im:history,users:read,users:read.email";
const APP_ID = "A0SUNDAYAPP";
/** Slack allows a response_url five uses. */
const RESPONSE_URL_USES = 5;

const id = (prefix: string, bytes = 5) => prefix + randomBytes(bytes).toString("hex").toUpperCase();

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function parseFields(contentType: string, body: string): Fields {
  if (contentType.includes("application/json")) {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Fields) : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(body));
}

const field = (fields: Fields, name: string): string => {
  const value = fields[name];
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
};

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json; charset=utf-8", ...headers });
  response.end(text);
}

export async function startSlackServer(options: { signingSecret?: string } = {}): Promise<SlackServer> {
  const signingSecret = options.signingSecret ?? randomBytes(16).toString("hex");
  const codes = new Map<string, SlackInstall & { used: boolean }>();
  const bots = new Map<string, Bot>();
  const revoked = new Set<string>();
  const users = new Map<string, Map<string, SlackUser>>();
  const failures = new Map<string, SlackFailure[]>();
  const counts = new Map<string, number>();
  const responseUrls = new Map<string, number>();
  const messages = new Recorded<SlackPosted>("Slack messages");
  const responses = new Recorded<SlackResponse>("response_url posts");
  const sockets = new Set<Socket>();
  let sequence = 0;
  let base = "";

  function authorize(request: IncomingMessage, fields: Fields): { bot: Bot; token: string } | { error: string } {
    const header = request.headers.authorization ?? "";
    const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : field(fields, "token");
    if (!token) return { error: "not_authed" };
    if (revoked.has(token)) return { error: "token_revoked" };
    const bot = bots.get(token);
    return bot ? { bot, token } : { error: "invalid_auth" };
  }

  function oauthAccess(request: IncomingMessage, fields: Fields): unknown {
    // Slack takes the client credentials as HTTP Basic auth or as fields; WebClient sends fields.
    let clientId = field(fields, "client_id");
    let clientSecret = field(fields, "client_secret");
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) [clientId, clientSecret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    }
    const code = codes.get(field(fields, "code"));
    if (!code || code.used) return { ok: false, error: "invalid_code" };
    if (clientId !== code.clientId) return { ok: false, error: "invalid_client_id" };
    if (clientSecret !== code.clientSecret) return { ok: false, error: "bad_client_secret" };
    if (code.redirectUri !== undefined && field(fields, "redirect_uri") !== code.redirectUri) return { ok: false, error: "bad_redirect_uri" };
    code.used = true;
    const token = code.botToken ?? id("xoxb-", 12).toLowerCase();
    const bot: Bot = { teamId: code.teamId, teamName: code.teamName, botUserId: id("UB"), appId: APP_ID, userId: code.userId };
    bots.set(token, bot);
    revoked.delete(token);
    return {
      ok: true,
      access_token: token,
      token_type: "bot",
      scope: BOT_SCOPES,
      bot_user_id: bot.botUserId,
      app_id: bot.appId,
      team: { id: bot.teamId, name: bot.teamName },
      enterprise: null,
      is_enterprise_install: false,
      authed_user: { id: code.userId },
    };
  }

  function usersInfo(bot: Bot, fields: Fields): unknown {
    const user = users.get(bot.teamId)?.get(field(fields, "user"));
    if (!user) return { ok: false, error: "user_not_found" };
    return {
      ok: true,
      user: {
        id: user.id,
        team_id: bot.teamId,
        name: user.email.split("@")[0],
        deleted: user.deleted === true,
        is_bot: user.bot === true,
        is_email_confirmed: user.verified ?? true,
        profile: { email: user.email, real_name: user.email.split("@")[0] },
      },
    };
  }

  function postMessage(token: string, fields: Fields): unknown {
    const channel = field(fields, "channel");
    if (!channel) return { ok: false, error: "channel_not_found" };
    let blocks: unknown = fields.blocks;
    if (typeof blocks === "string") {
      try {
        blocks = JSON.parse(blocks);
      } catch {
        return { ok: false, error: "invalid_blocks" };
      }
    }
    if (blocks !== undefined && !Array.isArray(blocks)) return { ok: false, error: "invalid_blocks" };
    const text = field(fields, "text");
    if (!text && (!Array.isArray(blocks) || blocks.length === 0)) return { ok: false, error: "no_text" };
    sequence += 1;
    const ts = `${Math.floor(Date.now() / 1000)}.${String(sequence).padStart(6, "0")}`;
    messages.push({ token, channel, text, blocks: blocks ?? null, ts, at: Date.now() });
    return { ok: true, channel, ts, message: { type: "message", text, ts, ...(blocks ? { blocks } : {}) } };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const target = path.startsWith("/response/") ? "response_url" : path.startsWith("/api/") ? path.slice("/api/".length) : path;
    counts.set(target, (counts.get(target) ?? 0) + 1);
    if (request.method !== "POST") return send(response, 405, { ok: false, error: "method_not_allowed" });
    const failure = failures.get(target)?.shift();
    if (failure) {
      if (failure.status === 429) return send(response, 429, { ok: false, error: "ratelimited" }, { "retry-after": String(failure.retryAfterSeconds) });
      return send(response, failure.status, "upstream unavailable");
    }
    if (target === "response_url") {
      const uses = responseUrls.get(path);
      if (uses === undefined) return send(response, 404, "expired_url");
      if (uses >= RESPONSE_URL_USES) return send(response, 404, "used_url");
      responseUrls.set(path, uses + 1);
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        // Recorded as text: the test says what it expected.
      }
      responses.push({ url: `${base}${path}`, body: parsed, at: Date.now() });
      return send(response, 200, "ok");
    }
    const fields = parseFields(request.headers["content-type"] ?? "", body);
    if (target === "oauth.v2.access") return send(response, 200, oauthAccess(request, fields));
    if (!["users.info", "chat.postMessage", "auth.test"].includes(target)) return send(response, 404, { ok: false, error: "unknown_method" });
    const auth = authorize(request, fields);
    if ("error" in auth) return send(response, 200, { ok: false, error: auth.error });
    const { bot, token } = auth;
    if (target === "users.info") return send(response, 200, usersInfo(bot, fields));
    if (target === "chat.postMessage") return send(response, 200, postMessage(token, fields));
    return send(response, 200, {
      ok: true,
      url: `https://${bot.teamName.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.slack.com/`,
      team: bot.teamName,
      user: "sunday",
      team_id: bot.teamId,
      user_id: bot.botUserId,
      bot_id: id("B"),
      is_enterprise_install: false,
    });
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { ok: false, error: "internal_error", detail: String(error) });
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  const port = await listen(0);
  base = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${base}/api/`,
    signingSecret,
    issueCode(install) {
      const code = `${randomBytes(4).toString("hex")}.${randomBytes(12).toString("hex")}`;
      codes.set(code, { ...install, used: false });
      if (install.botToken) bots.set(install.botToken, { teamId: install.teamId, teamName: install.teamName, botUserId: id("UB"), appId: APP_ID, userId: install.userId });
      return code;
    },
    addUser(teamId, user) {
      const team = users.get(teamId) ?? new Map<string, SlackUser>();
      team.set(user.id, user);
      users.set(teamId, team);
    },
    revoke(token) {
      revoked.add(token);
    },
    messages: messages.items,
    waitForMessages: (count, timeoutMs = 10_000) => messages.wait(count, timeoutMs),
    responseUrl() {
      const path = `/response/${randomBytes(12).toString("hex")}`;
      responseUrls.set(path, 0);
      return `${base}${path}`;
    },
    responses: responses.items,
    waitForResponses: (count, timeoutMs = 10_000) => responses.wait(count, timeoutMs),
    failNext(count, failure, target = "chat.postMessage") {
      const queue = failures.get(target) ?? [];
      for (let i = 0; i < count; i += 1) queue.push(failure);
      failures.set(target, queue);
    },
    down: stop,
    async up() {
      if (!server.listening) await listen(port);
    },
    requests: (method) => counts.get(method) ?? 0,
    async close() {
      messages.close();
      responses.close();
      await stop();
    },
  };
}

export interface SlackSignedRequestOptions {
  /** Unix seconds to sign with (and send). Default now. */
  readonly timestamp?: number;
  /** Default: JSON when the body starts with "{", else form-encoded (what Slack sends). */
  readonly contentType?: string;
  /** Extra or overriding headers (e.g. X-Slack-Retry-Num, or a forged signature). */
  readonly headers?: Record<string, string>;
}

/** POSTs `body` to one of our inbound endpoints, signed as Slack signs it. */
export async function slackRequest(url: string, signingSecret: string, body: string, options: SlackSignedRequestOptions = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const contentType = options.contentType ?? (body.trimStart().startsWith("{") ? "application/json" : "application/x-www-form-urlencoded");
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": contentType,
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": signSlackRequest(signingSecret, timestamp, body),
      "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
      ...options.headers,
    },
    body,
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}
