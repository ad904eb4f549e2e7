// Summarises a V8 .heapsnapshot: self size by node type and constructor/name, biggest first.
// Usage on its own: node bench/subscriptions/heap-summary.ts <file.heapsnapshot> [top] [per]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapRow {
  type: string;
  name: string;
  count: number;
  bytes: number;
}

export function summarizeHeap(file: string): { total: number; rows: HeapRow[] } {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const rows = new Map<string, HeapRow>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!] ?? "?";
    const size = snapshot.nodes[i + sizeAt]!;
    total += size;
    // Strings and code are grouped by type only; objects by constructor name.
    const name = type === "object" || type === "closure" || type === "native" ? (snapshot.strings[snapshot.nodes[i + nameAt]!] ?? "?").slice(0, 60) : "";
    const key = `${type}\n${name}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { type, name, count: 0, bytes: 0 }));
    row.count += 1;
    row.bytes += size;
  }
  return { total, rows: [...rows.values()].sort((a, b) => b.bytes - a.bytes) };
}

export function formatHeap(summary: { total: number; rows: HeapRow[] }, top = 20, per = 0): string {
  const lines = [`| type | constructor / name | count | MB | share |${per ? ` bytes per socket |` : ""}`, `| --- | --- | ---: | ---: | ---: |${per ? " ---: |" : ""}`];
  for (const row of summary.rows.slice(0, top)) {
    lines.push(
      `| ${row.type} | ${row.name || "–"} | ${row.count} | ${(row.bytes / 2 ** 20).toFixed(1)} | ${((100 * row.bytes) / summary.total).toFixed(1)} % |${per ? ` ${(row.bytes / per).toFixed(0)} |` : ""}`,
    );
  }
  lines.push(`\ntotal self size ${(summary.total / 2 ** 20).toFixed(1)} MB`);
  return lines.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top, per] = process.argv.slice(2);
  if (!file) throw new Error("usage: heap-summary.ts <file.heapsnapshot> [top] [sockets]");
  console.log(formatHeap(summarizeHeap(file), Number(top ?? 20), Number(per ?? 0)));
}
