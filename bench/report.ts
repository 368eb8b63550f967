import type { LoadResult } from './load.js';

export interface BenchReport {
  devices: number;
  seedMs: number;
  seededReports: number;
  rssBytes: number;
  dbBytesPerDevice: number;
  dbBytesPerReport: number;
  dbFileBytes: number;
  results: Record<string, LoadResult>;
  durability: { acknowledged: number; stored: number; lost: number };
  curve: { devices: number; poll: LoadResult; status: LoadResult }[];
  connections: number;
  durationSeconds: number;
  totalSeconds: number;
  node: string;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ms = (n: number) => fmt(n, n < 10 ? 2 : 1);
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : '–');

/** Markdown tables: every figure beside its same-run baseline. */
export function formatReport(r: BenchReport): string {
  const b = r.results;
  const baselineOf: Record<string, LoadResult | undefined> = {
    pollOffered: b.baselineGet, pollNothing: b.baselineGet, poll304: b.baselineGet,
    reportSingle: b.baselinePostSingle, reportBatch: b.baselinePostBatch, enroll: b.baselinePostSingle,
  };
  const rows = Object.entries(b).map(([key, x]) => {
    const base = baselineOf[key];
    return `| ${x.name} | ${fmt(x.rps)} | ${ms(x.p50)} | ${ms(x.p99)} | ${ratio(x.rps, base?.rps)} | ${base ? ratio(x.p99, base.p99) : '–'} | ${fmt(x.ok)} | ${fmt(x.non2xx + x.errors)} |`;
  });
  const curve = r.curve.map((c) => `| ${fmt(c.devices)} | ${fmt(c.poll.rps)} | ${ms(c.poll.p50)} | ${ms(c.poll.p99)} | ${ms(c.status.p50)} | ${ms(c.status.p99)} |`);
  const first = r.curve[0];
  const last = r.curve[r.curve.length - 1];
  return [
    `## ${fmt(r.devices)} devices, ${r.connections} connections, ${r.durationSeconds} s per scenario (${r.node})`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | req/s vs baseline | p99 vs baseline | 2xx/3xx | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `- seed: ${fmt(r.seedMs / 1000, 1)} s for ${fmt(r.devices)} devices and ${fmt(r.seededReports)} reports`,
    `- server RSS after the run: ${fmt(r.rssBytes / 2 ** 20)} MiB`,
    `- database: ${fmt(r.dbBytesPerDevice)} bytes per device, ${fmt(r.dbBytesPerReport)} bytes per report, ${fmt(r.dbFileBytes / 2 ** 20)} MiB file`,
    `- durability (after SIGKILL): ${fmt(r.durability.acknowledged)} reports acknowledged with 2xx, ${fmt(r.durability.stored)} stored (the excess was in flight when the load stopped), ${fmt(r.durability.lost)} lost`,
    '',
    '### Scale curve',
    '',
    '| devices | poll req/s | poll p50 ms | poll p99 ms | status p50 ms | status p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...curve,
    '',
    first && last ? `- poll p50 at ${fmt(last.devices)} vs ${fmt(first.devices)} devices: ${ratio(last.poll.p50 || 0.01, first.poll.p50 || 0.01)}` : '',
    `- total bench time: ${fmt(r.totalSeconds)} s`,
  ].join('\n');
}
