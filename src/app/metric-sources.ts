import type { Orm } from '../db/orm.js';
import type { MetricSources } from '../http/metrics.js';

/** The counts behind /metrics' gauges, one small query each, read when Prometheus scrapes. */
export function metricSources(orm: Orm): MetricSources {
  const count = async (sql: string) => {
    const rows = await orm.em.fork().getConnection().execute<{ n: number }[]>(sql);
    return Number(rows[0]?.n ?? 0);
  };
  return {
    queuedDeployments: () => count(`select count(*)::int as n from deployments where status = 'queued'`),
    notificationDeliveries: async () => {
      const rows = await orm.em
        .fork()
        .getConnection()
        .execute<{ failed: number; retrying: number }[]>(
          `select count(*) filter (where status = 'failed')::int as failed,
                  count(*) filter (where status = 'retrying')::int as retrying
             from notification_deliveries where status in ('failed', 'retrying')`,
        );
      return { failed: Number(rows[0]?.failed ?? 0), retrying: Number(rows[0]?.retrying ?? 0) };
    },
    missingHeartbeats: () => count(`select count(*)::int as n from heartbeats where status = 'missing'`),
  };
}
