// CPU per API usage record, apart from the gateway (bench/gateway's BENCH_USAGE=1 measures it in
// the gateway, where a shared machine's noise is larger than the cost): record() into the
// recorder's buffer, flushed every 500 records to a sink that JSON-encodes and gzips the batch,
// the work the Kafka sink's producer does. Prints µs of CPU per record.
//
//   npx node bench/usage/record.ts            env: BENCH_RECORDS (200000)
import { gzipSync } from "node:zlib";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createUsageRecorder } from "../../gateway/src/usage/recorder.ts";

const records = Number(process.env.BENCH_RECORDS ?? 200_000);
const recorder = createUsageRecorder({
  registry: new Registry(),
  logger: pino({ level: "silent" }),
  sink: async (batch) => void gzipSync(JSON.stringify(batch)),
});
const started = process.cpuUsage();
for (let index = 0; index < records; index += 1) {
  recorder.record({
    at: Date.now(),
    organizationId: "aba09553-3cb3-59de-979f-1b5183c4de61",
    principalKind: "user",
    principalId: "e09851ca-0bfd-56ca-9b91-9ab78d0a339f",
    surface: "graphql",
    operation: "BoardWithItems",
    apiVersion: "",
    status: 200,
    durationMs: 3.2,
    userAgent: "autocannon/7",
  });
  if (index % 500 === 499) await recorder.flush();
}
await recorder.dispose();
const used = process.cpuUsage(started);
console.log(`${records} records: ${((used.user + used.system) / records).toFixed(2)} µs CPU per record (record, then JSON + gzip of its batch)`);
