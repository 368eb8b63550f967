import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

let processRegistry: Registry | undefined;

/**
 * The process's own families (`ota_process_*`, `ota_nodejs_*`), registered
 * once per process: their collectors (a GC observer, an event-loop delay
 * histogram) are global and never stop, so one set per app would keep every
 * app ever built — its stores, its database — alive for the process's life.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'ota_' });
  }
  return processRegistry;
}

/**
 * One registry per app so tests and several apps in one process never share
 * counters; `exposition()` is the text of /metrics: the process's families,
 * then the app's.
 */
export function createMetrics() {
  const registry = new Registry();
  const proc = processMetrics();
  return {
    registry,
    contentType: registry.contentType,
    exposition: async (): Promise<string> => {
      const [a, b] = await Promise.all([proc.metrics(), registry.metrics()]);
      return a + b;
    },
    httpRequests: new Counter({
      name: 'ota_http_requests_total',
      help: 'HTTP requests by route and status class',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    clientAborts: new Counter({
      name: 'ota_http_client_aborts_total',
      help: 'Requests whose client closed the connection before the answer (not server errors)',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    databaseUnavailable: new Counter({
      name: 'ota_database_unavailable_total',
      help: 'Requests answered 503 and background jobs failed because the database was away (the log has one line per outage)',
      labelNames: ['what'] as const,
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'ota_webhook_deliveries_total',
      help: 'Webhook deliveries by how they ended: delivered, given_up (attempts or age exhausted) or dropped (queue full, receiver no longer configured)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'ota_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
