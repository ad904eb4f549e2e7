// Where a notification's time goes, from the rows the path leaves behind: the outbox row (written in
// the mutation's transaction, then published by the relay), the chat notification row (queued by
// the runtime's Kafka consumer) and the chat server's receive time. Every clock is this machine's
// (PostgreSQL's now() and Date.now()), at millisecond resolution; an outbox row's createdAt is its
// transaction's start, so "written" is when the items subgraph began the write, not its commit.
import type { PrismaClient } from "../../platform/db.ts";
import { summary } from "../subscriptions/lib.ts";
import type { Arrival } from "./inbox.ts";

export interface Stage {
  readonly label: string;
  readonly s: ReturnType<typeof summary>;
}

/** The stages of item-created notifications that arrived; `provider` picks the channel keys (SLACK or TEAMS). */
export async function notificationStages(prisma: PrismaClient, arrivals: readonly Arrival[], provider: "SLACK" | "TEAMS"): Promise<Stage[]> {
  const arrived = arrivals.filter((arrival) => arrival.at !== undefined);
  const items = await prisma.item.findMany({ where: { name: { in: arrived.map((arrival) => arrival.name) } }, select: { id: true, name: true } });
  const idOf = new Map(items.map((item) => [item.name, item.id]));
  const events = await prisma.outboxEvent.findMany({
    where: { aggregateId: { in: items.map((item) => item.id) }, eventType: "project.item.created" },
    select: { id: true, aggregateId: true, createdAt: true, publishedAt: true },
  });
  const eventOf = new Map(events.map((event) => [event.aggregateId, event]));
  const notifications = await prisma.chatNotification.findMany({
    where: { eventId: { in: events.map((event) => event.id) }, channelKey: { startsWith: `${provider}:` } },
    select: { eventId: true, channelKey: true, createdAt: true },
  });
  const written: number[] = [];
  const published: number[] = [];
  const queued: number[] = [];
  const posted: number[] = [];
  for (const arrival of arrived) {
    const event = eventOf.get(idOf.get(arrival.name) ?? "");
    const notification = notifications.find((row) => row.eventId === event?.id && row.channelKey.endsWith(`:${arrival.channel}`));
    if (!event?.publishedAt || !notification || arrival.at === undefined) continue;
    written.push(event.createdAt.getTime() - arrival.sentAt);
    published.push(event.publishedAt.getTime() - event.createdAt.getTime());
    queued.push(notification.createdAt.getTime() - event.publishedAt.getTime());
    posted.push(arrival.at - notification.createdAt.getTime());
  }
  return [
    { label: "mutation sent → outbox row written (gateway, items subgraph)", s: summary(written) },
    { label: "outbox row written → published to Kafka (commit, NOTIFY, relay)", s: summary(published) },
    { label: "published → notification queued (Kafka, the runtime's consumer, targets, insert)", s: summary(queued) },
    { label: "queued → chat server has the message (dispatcher wake and claim, render, POST)", s: summary(posted) },
  ];
}
