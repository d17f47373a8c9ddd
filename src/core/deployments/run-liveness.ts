import pg from 'pg';
import type { Logger } from '../../logger.js';

/** Advisory-lock namespace of "a process is running this deployment". */
const NAMESPACE = 0x51_1b_07;
/** Between two attempts to reconnect after the connection was lost. */
const RECONNECT_DELAY_MS = 250;
/** How long hold() waits for a lost connection to come back before it gives up. */
const HOLD_WAIT_MS = 10_000;

/**
 * How one replica knows another has died mid-deployment, without waiting out a timeout: the
 * process running a deployment holds a session advisory lock on it over a connection of its
 * own. If the process dies, PostgreSQL ends the session and the lock is free.
 *
 * A connection lost while the process lives (PostgreSQL restarted, a network blip) frees the
 * locks too, so the connection is reopened at once, again and again until it is back, and every
 * lock this process still holds is taken again. Meanwhile the runner goes on refreshing its row
 * (runner_seen_at) whenever the database answers, and the reaper only reaps a run whose lock is
 * free *and* whose row has stopped changing: a blip never makes a live run look dead.
 */
export class RunLiveness {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly held = new Set<string>();
  private closed = false;
  /** Times the connection was lost and opened again (tests and logs). */
  reconnects = 0;

  private constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  static async open(url: string, logger: Logger): Promise<RunLiveness> {
    const liveness = new RunLiveness(url, logger);
    liveness.client = await liveness.connect();
    return liveness;
  }

  /** Blocks until this process holds the deployment's lock. */
  async hold(deploymentId: string): Promise<void> {
    const client = await this.ready();
    await client.query('select pg_advisory_lock($1, hashtext($2))', [NAMESPACE, deploymentId]);
    this.held.add(deploymentId);
  }

  /** Takes the lock if it is free (the reaper: the runner is gone, and now the cleanup is ours). */
  async tryHold(deploymentId: string): Promise<boolean> {
    const client = await this.ready();
    const { rows } = await client.query<{ taken: boolean }>(
      'select pg_try_advisory_lock($1, hashtext($2)) as taken',
      [NAMESPACE, deploymentId],
    );
    if (rows[0]?.taken) this.held.add(deploymentId);
    return rows[0]?.taken === true;
  }

  async release(deploymentId: string): Promise<void> {
    this.held.delete(deploymentId);
    const client = this.client;
    if (!client) return; // Lost: the lock went with the session, and is not taken again.
    try {
      await client.query('select pg_advisory_unlock($1, hashtext($2))', [NAMESPACE, deploymentId]);
    } catch (error) {
      this.logger.warn({ err: error, deploymentId }, 'could not release a deployment liveness lock');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  private async ready(): Promise<pg.Client> {
    if (this.client) return this.client;
    if (this.closed) throw new Error('the liveness connection is closed');
    const reconnected = this.connecting ?? this.reconnect();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('the database is unreachable: no liveness connection')),
        HOLD_WAIT_MS,
      );
    });
    try {
      return await Promise.race([reconnected, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'slipway-liveness',
      connectionTimeoutMillis: 5000,
    });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      if (this.closed) return;
      this.logger.warn(
        { err: error, held: this.held.size },
        'liveness connection lost; reconnecting and taking its locks again',
      );
      void this.reconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    await client.connect();
    return client;
  }

  /** Reopens the connection until it is back, then takes every held lock again. */
  private reconnect(): Promise<pg.Client> {
    this.connecting ??= (async () => {
      try {
        for (;;) {
          if (this.closed) throw new Error('the liveness connection is closed');
          try {
            const client = await this.connect();
            for (const deploymentId of this.held) {
              const { rows } = await client.query<{ taken: boolean }>(
                'select pg_try_advisory_lock($1, hashtext($2)) as taken',
                [NAMESPACE, deploymentId],
              );
              if (!rows[0]?.taken) {
                // Someone (a reaper that judged the run dead) holds it now; the run will notice
                // at its end that it was taken over.
                this.logger.error(
                  { deploymentId },
                  'could not take a liveness lock again: it is held elsewhere',
                );
              }
            }
            this.client = client;
            this.reconnects++;
            this.logger.info({ held: this.held.size }, 'liveness connection back; locks taken again');
            return client;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
          }
        }
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }
}

/**
 * SQL predicate, true for a row whose holder's lock is free (only valid inside a transaction:
 * an xact lock). Pipeline steps use it with a grace period; deployments add the stale-row check
 * of the reaper, so that a database blip, which frees the locks for a moment, never reaps a live run.
 */
export const RUNNER_IS_GONE_SQL = `pg_try_advisory_xact_lock(${NAMESPACE}, hashtext(id::text))`;
