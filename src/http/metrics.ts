import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per service instance (tests start several in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'slipway_' });
  let adapters: () => Record<string, { status: string }> = () => ({});
  return {
    registry,
    /** Where the chat adapters' standing is read from when metrics are scraped. */
    watchChatAdapters(source: () => Record<string, { status: string }>) {
      adapters = source;
    },
    chatAdapterUp: new Gauge({
      name: 'slipway_chat_adapter_up',
      help: '1 while a chat adapter is connected to its platform, 0 while it is down or starting',
      labelNames: ['platform'] as const,
      registers: [registry],
      collect() {
        for (const [platform, health] of Object.entries(adapters())) {
          this.set({ platform }, health.status === 'up' ? 1 : 0);
        }
      },
    }),
    httpRequests: new Counter({
      name: 'slipway_http_requests_total',
      help: 'HTTP requests served, by route and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'slipway_http_request_duration_seconds',
      help: 'HTTP request duration, by route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    deployments: new Counter({
      name: 'slipway_deployments_total',
      help: 'Deployments that ended, by kind and final status',
      labelNames: ['kind', 'status'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
