// The webhook receivers, in a child process of their own so that their CPU and event loop are not
// the dispatcher's: one node:http server on loopback serves every webhook URL by path, and a port
// that was bound and closed again stands for dead endpoints (connection refused).
//
//   /w/<n>     answers 204 at once
//   /slow/<n>  answers 204 after config.slowMs
//
// Each request is timed when its headers arrive and reported to the parent in batches (receipts).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type FromReceivers, now, type Receipt, type ReceiverConfig, type ToReceivers } from "./protocol.ts";

const FLUSH_MS = 20;
const PATH = /^\/(w|slow)\/(\d+)$/;

function send(message: FromReceivers): void {
  process.send?.(message);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

try {
  const config = JSON.parse(process.env.BENCH_RECEIVER_CONFIG ?? "{}") as ReceiverConfig;
  let pending: Receipt[] = [];
  let flushing = false;
  const flush = () => {
    flushing = false;
    if (pending.length === 0) return;
    send({ type: "receipts", receipts: pending });
    pending = [];
  };
  const slowTimers = new Set<NodeJS.Timeout>();

  const server = createServer((request, response) => {
    const receivedAt = now();
    const match = PATH.exec(request.url ?? "");
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (!match) {
        response.writeHead(404).end();
        return;
      }
      const slow = match[1] === "slow";
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string; data: { handledAt: number } };
      pending.push([Number(match[2]), body.id, body.data.handledAt, receivedAt, slow ? 1 : 0]);
      if (!flushing) {
        flushing = true;
        setTimeout(flush, FLUSH_MS);
      }
      if (!slow) {
        response.writeHead(204).end();
        return;
      }
      const timer = setTimeout(() => {
        slowTimers.delete(timer);
        response.writeHead(204).end();
      }, config.slowMs);
      slowTimers.add(timer);
    });
  });
  // The dispatcher's pooled sockets stay open between deliveries, as a real receiver's keep-alive would allow.
  server.keepAliveTimeout = 30_000;
  const port = await listen(server);
  const deadPort = await closedPort();
  process.on("message", (message: ToReceivers) => {
    if (message.type !== "stop") return;
    flush();
    for (const timer of slowTimers) clearTimeout(timer);
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  send({ type: "ready", port, deadPort });
} catch (error) {
  send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
}
