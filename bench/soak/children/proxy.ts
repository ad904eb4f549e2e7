// One round-robin proxy (test/support/round-robin.ts) in a process of its own, standing in for a
// Kubernetes Service in front of one part's replicas. Its own process so that its CPU and memory
// are measured apart and it does not share an event loop with the load it forwards.
import { startRoundRobin } from "../../../test/support/round-robin.ts";
import { childConfig, fail, ready, serve } from "../../subscriptions/children/ipc.ts";

export interface ProxyConfig {
  readonly backends: readonly string[];
}

try {
  const config = childConfig<ProxyConfig>();
  const proxy = await startRoundRobin(config.backends);
  serve(
    {
      /** Puts exactly `backends` in rotation (open WebSockets stay where they are). */
      rotate(message) {
        const wanted = (message.backends as string[]).map((url) => new URL(url).origin);
        for (const url of proxy.backends()) if (!wanted.includes(url)) proxy.remove(url);
        for (const url of wanted) proxy.add(url);
        return proxy.backends();
      },
      counts: () => Object.fromEntries(proxy.counts),
    },
    () => proxy.close(),
  );
  ready({ url: proxy.url });
} catch (error) {
  fail(error);
}
