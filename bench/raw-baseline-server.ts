import { createServer } from 'node:http';

/**
 * The ceiling of Node itself, measured in the same run: node:http writing
 * the same cached poll bytes, with the same headers the poll sends, from
 * memory. It receives the same load as the poll (each request another
 * device id and token) and ignores both: whatever the poll spends beyond
 * this is our own code.
 */
const body = Buffer.from(process.argv[2] ?? '{}');
/**
 * With a second argument, N µs of busy work per request before the answer:
 * the calibration of the hot-path table. It shows what a given req/s ratio
 * against raw node:http leaves for the poll's own work on this machine, where
 * the load generator shares the cores (docs/benchmarks.md).
 */
const workMs = Number(process.argv[3] ?? 0) / 1000;
const headers = {
  ETag: '"baseline"',
  'Cache-Control': 'private, no-cache',
  'Content-Type': 'application/json; charset=utf-8',
  'Content-Length': body.length,
};
const server = createServer((_req, res) => {
  if (workMs > 0) {
    const until = performance.now() + workMs;
    while (performance.now() < until);
  }
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  console.log(`listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
});
