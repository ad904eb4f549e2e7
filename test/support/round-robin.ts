// A round-robin HTTP proxy in front of replicas of one part (a subgraph's pods, the gateways),
// for tests that restart replicas under load. It stands in for a Kubernetes Service and its
// endpoints controller: `remove(url)` takes a replica out of rotation before the test sends it
// SIGTERM, as endpoint removal (with a preStop hook long enough for it to spread) does for a
// terminating pod. Requests and WebSocket upgrades already on their way there finish there; new
// ones go to the others.
//
// Each HTTP request picks a replica (an L7 balancer: Envoy, an ingress), over a keep-alive pool
// per replica; a WebSocket upgrade picks one and is then piped byte for byte. It never retries:
// a request the replica fails is answered 502 (no replica at all: 503), so the test sees it.
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

/** Connection-scoped headers a proxy must not pass on (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase()),
  );
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name) && !listed.has(name)));
}

export interface BackendCounts {
  /** HTTP requests sent there. */
  requests: number;
  /** WebSocket upgrades piped there. */
  upgrades: number;
}

/** A request the proxy keeps in flight at a replica (see RoundRobin.holdNext). */
export interface HeldRequest {
  /** Resolves once the replica has read the request's headers (its "100 Continue"): the request is active there. */
  readonly started: Promise<void>;
  /** Sends the body: the replica then runs the request and answers it. */
  release(): void;
}

export interface RoundRobin {
  /** The proxy's base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** What each replica (by base URL) was sent, removed ones included. */
  readonly counts: ReadonlyMap<string, BackendCounts>;
  /** Puts a replica (its base URL) into rotation. */
  add(url: string): void;
  /** Takes a replica out of rotation: no new request or connection goes there. */
  remove(url: string): void;
  /**
   * Holds the body of the next request sent to `url`, once the replica has read its headers: a
   * request in flight there for as long as the test needs (a SIGTERM in the middle of it).
   */
  holdNext(url: string): HeldRequest;
  /** The replicas in rotation. */
  backends(): readonly string[];
  /** Stops listening and closes every connection it holds. */
  close(): Promise<void>;
}

export async function startRoundRobin(initial: readonly string[] = []): Promise<RoundRobin> {
  const rotation: URL[] = [];
  const agents = new Map<string, Agent>();
  const counts = new Map<string, BackendCounts>();
  const sockets = new Set<Socket>();
  const holds = new Map<string, { headersRead: () => void; released: Promise<void> }>();
  let next = 0;

  const pick = (): URL | undefined => {
    if (rotation.length === 0) return undefined;
    next = (next + 1) % rotation.length;
    return rotation[next];
  };
  const countsOf = (target: URL): BackendCounts => {
    let entry = counts.get(target.origin);
    if (!entry) counts.set(target.origin, (entry = { requests: 0, upgrades: 0 }));
    return entry;
  };
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  const server: Server = createServer((request, response) => {
    const target = pick();
    if (!target) {
      response.writeHead(503, { "content-type": "text/plain" });
      return void response.end("round-robin: no replica in rotation");
    }
    countsOf(target).requests += 1;
    const hold = holds.get(target.origin);
    holds.delete(target.origin);
    // A held request asks for "100 Continue", which the replica sends once it has parsed the headers.
    const headers = { ...forwardable(request.headers), ...(hold ? { expect: "100-continue" } : {}) };
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers, agent: agents.get(target.origin) }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
      answer.pipe(response);
      answer.once("error", () => response.destroy());
    });
    upstream.once("error", (error) => {
      if (response.headersSent) return void response.destroy();
      response.writeHead(502, { "content-type": "text/plain" });
      response.end(`round-robin: ${target.origin} failed: ${error.message}`);
    });
    if (!hold) return void request.pipe(upstream);
    const body: Buffer[] = [];
    request.on("data", (chunk: Buffer) => body.push(chunk));
    const read = new Promise((resolve) => request.once("end", resolve));
    upstream.once("continue", hold.headersRead);
    upstream.flushHeaders();
    void Promise.all([read, hold.released]).then(() => upstream.end(Buffer.concat(body)));
  });
  server.on("connection", track);

  server.on("upgrade", (request, client: Socket, head: Buffer) => {
    const target = pick();
    if (!target) return void client.end("HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    countsOf(target).upgrades += 1;
    const upstream = connect(Number(target.port), target.hostname);
    track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once("error", drop);
    upstream.once("error", drop);
    client.once("close", drop);
    upstream.once("close", drop);
    upstream.once("connect", () => {
      // The request line and headers as the client sent them (Upgrade and Connection included).
      const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
      for (let index = 0; index < request.rawHeaders.length; index += 2) lines.push(`${request.rawHeaders[index]}: ${request.rawHeaders[index + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const proxy: RoundRobin = {
    url,
    counts,
    add(backend) {
      const target = new URL(backend);
      if (rotation.some((entry) => entry.origin === target.origin)) return;
      if (!agents.has(target.origin)) agents.set(target.origin, new Agent({ keepAlive: true }));
      countsOf(target);
      rotation.push(target);
    },
    remove(backend) {
      const origin = new URL(backend).origin;
      const at = rotation.findIndex((entry) => entry.origin === origin);
      if (at >= 0) rotation.splice(at, 1);
      // Its pool keeps serving what is in flight; idle sockets close when the replica closes them.
    },
    holdNext(backend) {
      let headersRead: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (headersRead = resolve));
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.set(new URL(backend).origin, { headersRead, released });
      return { started, release };
    },
    backends: () => rotation.map((entry) => entry.origin),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      for (const agent of agents.values()) agent.destroy();
      await closed;
    },
  };
  for (const backend of initial) proxy.add(backend);
  return proxy;
}
