import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Counts the running service reads from its database when /metrics is scraped. */
export interface MetricSources {
  /** Deployments waiting for a worker (status `queued`). */
  queuedDeployments(): Promise<number>;
  /** Notification deliveries kept as failed, and those waiting for a retry. */
  notificationDeliveries(): Promise<{ failed: number; retrying: number }>;
  /** Heartbeats in status `missing`. */
  missingHeartbeats(): Promise<number>;
}

const DURATION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];
const PICKUP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * One registry per service instance (tests start several in one process). Node's default
 * metrics keep their standard names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds,
 * …) so the usual dashboards work; Slipway's own are prefixed `slipway_`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let sources: MetricSources | null = null;
  let adapters: () => Record<string, { status: string }> = () => ({});
  const metrics = {
    registry,
    /** Where the chat adapters' standing is read from when metrics are scraped. */
    watchChatAdapters(source: () => Record<string, { status: string }>) {
      adapters = source;
    },
    /** Read from each adapter's own standing (checked off the request path) at every scrape. */
    chatAdapterUp: new Gauge({
      name: 'slipway_chat_adapter_up',
      help: 'Whether a chat platform adapter is up (1) or down or starting (0), by platform',
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
    deploymentDuration: new Histogram({
      name: 'slipway_deployment_duration_seconds',
      help: 'Time from a deployment starting to run to its end, by project, environment and final status',
      labelNames: ['project', 'environment', 'status'] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    queuePickup: new Histogram({
      name: 'slipway_deployment_queue_pickup_seconds',
      help: 'Time a deployment waited in the queue before a worker claimed it',
      buckets: PICKUP_BUCKETS,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'slipway_deployments_queued',
      help: 'Deployments queued and waiting for a worker',
      registers: [registry],
      async collect() {
        if (sources) this.set(await sources.queuedDeployments());
      },
    }),
    notificationsFailed: new Gauge({
      name: 'slipway_notification_deliveries_failed',
      help: 'Notification deliveries kept as failed (sent again when their channel is fixed)',
      registers: [registry],
      async collect() {
        if (sources) this.set((await sources.notificationDeliveries()).failed);
      },
    }),
    notificationsRetrying: new Gauge({
      name: 'slipway_notification_deliveries_retrying',
      help: 'Notification deliveries waiting for another try',
      registers: [registry],
      async collect() {
        if (sources) this.set((await sources.notificationDeliveries()).retrying);
      },
    }),
    heartbeatsMissing: new Gauge({
      name: 'slipway_heartbeats_missing',
      help: 'Heartbeats that are missing (their job did not check in on time)',
      registers: [registry],
      async collect() {
        if (sources) this.set(await sources.missingHeartbeats());
      },
    }),
    /** Where the database-backed gauges read from; until set they stay at 0. */
    useSources(next: MetricSources): void {
      sources = next;
    },
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
