import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { migrate, openOrm } from '../../src/db/orm.js';
import { createLogger } from '../../src/logger.js';
import { skipSshSuites } from '../harness/ssh-suite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

/**
 * Finds a PostgreSQL for the tests — TEST_DATABASE_URL, else the machine's at 127.0.0.1:5432,
 * else an embedded one — and builds a migrated template database there. Every test file then
 * copies the template into a database of its own (CREATE DATABASE … TEMPLATE, ~50 ms), so
 * files run in parallel without seeing each other's rows.
 */
export default async function setup(project: TestProject) {
  if (skipSshSuites) {
    process.stdout.write(
      'tests: OpenSSH sshd not found — the SSH suites are SKIPPED. Install openssh-server to run them (CI always does).\n',
    );
  }
  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!(await answers(adminUrl))) {
    if (process.env.TEST_DATABASE_URL) throw new Error(`TEST_DATABASE_URL does not answer: ${adminUrl}`);
    const logger = createLogger({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });
    embedded = await startEmbeddedPostgres({
      dataDir: await mkdtemp(join(tmpdir(), 'slipway-test-pg-')),
      port: 0,
      logger,
    });
    adminUrl = embedded.url.replace(/\/[^/]*$/, '/postgres');
    process.stdout.write('tests: no PostgreSQL at 127.0.0.1:5432; using an embedded one\n');
  }

  // One template per run: two runs at once (CI beside a developer's watch mode) must not drop
  // each other's template.
  const template = `slipway_test_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${template} with (force)`);
  await admin.query(`create database ${template}`);
  await admin.end();
  const orm = await openOrm(withDatabase(adminUrl, template), { poolMax: 1 });
  await migrate(orm);
  await orm.close(true);

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);
  return async () => {
    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    await cleanup.query(`drop database if exists ${template} with (force)`).catch(() => undefined);
    await cleanup.end();
    await embedded?.stop();
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    await client.end().catch(() => undefined);
    return false;
  }
}
