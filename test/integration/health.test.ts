import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readiness } from '../../src/app/readiness.js';
import { migrate, type Orm } from '../../src/db/orm.js';
import { registerHealthRoutes } from '../../src/http/health-routes.js';
import { createMetrics } from '../../src/http/metrics.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from '../support/database.js';

describe('/readyz', () => {
  let database: TestDatabase;
  let orm: Orm;
  let shuttingDown = false;
  const app = createHttpServer({
    logger: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
    metrics: createMetrics(),
  });

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
    orm = await openTestOrm(database);
    registerHealthRoutes(
      app,
      readiness(orm, () => shuttingDown),
    );
  });
  afterAll(async () => {
    await app.close();
    await orm?.close(true);
    await database?.drop();
  });

  it('is 503 naming the migrations that are not applied, then 200 once they are', async () => {
    const before = await app.inject({ method: 'GET', url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json().reason).toMatch(/^migrations not applied: Migration\d+_initial/);

    await migrate(orm);
    const after = await app.inject({ method: 'GET', url: '/readyz' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: 'ready' });
  });

  it('is 503 while shutting down, while /healthz stays 200', async () => {
    shuttingDown = true;
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().reason).toBe('shutting down');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    shuttingDown = false;
  });

  it('is 503 when the database does not answer', async () => {
    const doomed = await createTestDatabase();
    const lostOrm = await openTestOrm(doomed);
    const lostApp = createHttpServer({
      logger: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
      metrics: createMetrics(),
    });
    registerHealthRoutes(
      lostApp,
      readiness(lostOrm, () => false),
    );
    expect((await lostApp.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    // The database disappears under the running service (its connections are cut too).
    await doomed.drop();
    const ready = await lostApp.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().reason).toMatch(/^database unreachable/);
    await lostApp.close();
    await lostOrm.close(true);
  });
});
