import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/** One registry per app so tests and several apps in one process never share counters. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ota_' });
  return {
    registry,
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
