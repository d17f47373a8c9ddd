import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isConnectionError } from '../../db/connection-errors.js';
import { Server } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import type { PlanServer, RunObserver, StepInfo, StepOutcome } from '../../engine/index.js';
import type { Logger } from '../../logger.js';
import type { StepStatus } from '../../vocabulary.js';

/** How long step changes gather before they are written together (progress is shown this late, at most). */
const FLUSH_DELAY_MS = 15;

interface StepRow {
  id: string;
  serverId: string;
  serverName: string;
  position: number;
  name: string;
  kind: 'action' | 'hook';
  status: StepStatus;
  exitCode: number | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  outputTail: string | null;
  output: string | null;
}

const ENDED: ReadonlySet<StepStatus> = new Set(['finished', 'failed', 'cancelled', 'skipped']);

/**
 * One statement writes any number of step rows: inserted when new, brought to their latest
 * state otherwise. Rows travel as one JSON parameter, so the statement is the same whatever
 * their number and no ORM change set is computed on the deploy path.
 */
const UPSERT_SQL = `insert into deployment_steps
    (id, deployment_id, server_id, server_name, position, name, kind, status, exit_code,
     started_at, finished_at, output_tail, output)
  select r.id, r.deployment_id, r.server_id, r.server_name, r.position, r.name, r.kind, r.status,
         r.exit_code, r.started_at, r.finished_at, r.output_tail, r.output
    from jsonb_to_recordset(?::jsonb) as r(id uuid, deployment_id uuid, server_id uuid,
         server_name varchar, position int, name varchar, kind text, status text, exit_code int,
         started_at timestamptz, finished_at timestamptz, output_tail text, output text)
  on conflict (id) do update set status = excluded.status, exit_code = excluded.exit_code,
     started_at = excluded.started_at, finished_at = excluded.finished_at,
     output_tail = excluded.output_tail, output = excluded.output`;

/**
 * Keeps a deployment's step rows (deployment_steps) in memory and writes them in bulk: the
 * plan's steps in one insert at the start (every planned step has its row from the first
 * moment, `pending`), then whatever changed since the last write, in one statement, at most one
 * statement in flight. The engine's calls only touch memory, so the servers never wait for the
 * database. `settle(tx)` writes the last changes inside the transaction that ends the
 * deployment: a deployment is never seen ended with its rows behind.
 *
 * Steps that were not planned (clean-up, switch back, a health-check rollback's steps) get a row
 * of their own after the planned ones. Also pins host keys learned on first contact.
 */
export class StepRecorder implements RunObserver {
  /** The row that a key's next start or end goes to, per server. */
  private readonly open = new Map<string, StepRow>();
  private readonly positions = new Map<string, number>();
  private readonly names: Map<string, string>;
  private readonly dirty = new Set<StepRow>();
  private readonly sideWrites = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private settled = false;
  /** Statements written so far (logged when the deployment ends). */
  statements = 0;
  /** Awaited by the engine once every server has prepared, before any is switched. */
  beforeActivation?: () => Promise<void>;

  constructor(
    private readonly orm: Orm,
    private readonly deploymentId: string,
    servers: PlanServer[],
    private readonly logger: Logger,
    private readonly onProgress?: () => void,
  ) {
    this.names = new Map(servers.map((server) => [server.id, server.name]));
  }

  /** Every step the run plans, per server, in order: their rows are written at once, `pending`. */
  plan(steps: Map<string, StepInfo[]>): void {
    for (const [serverId, list] of steps) for (const step of list) this.addRow(serverId, step, 'pending');
    this.schedule(0);
  }

  onStepStarted(serverId: string, step: StepInfo, startedAt: Date): void {
    const row = this.rowFor(serverId, step, (status) => status === 'pending');
    row.status = 'running';
    row.startedAt = startedAt;
    this.touch(row);
  }

  onStepFinished(serverId: string, step: StepInfo, outcome: StepOutcome): void {
    const row = this.rowFor(serverId, step, (status) => !ENDED.has(status));
    row.status = outcome.status;
    row.exitCode = outcome.exitCode;
    row.startedAt = outcome.startedAt;
    row.finishedAt = outcome.finishedAt;
    row.outputTail = outcome.message && !outcome.outputTail ? outcome.message : outcome.outputTail;
    row.output = outcome.output;
    this.touch(row);
  }

  onHostKeyLearned(serverId: string, fingerprint: string): void {
    const write = this.orm.em
      .fork()
      .nativeUpdate(Server, { id: serverId, hostKeyFingerprint: null }, { hostKeyFingerprint: fingerprint })
      .then((pinned) => {
        if (pinned) this.logger.info({ serverId, fingerprint }, 'host key pinned on first connection');
      })
      .catch((error: unknown) =>
        this.logger.error({ err: error, serverId }, 'could not pin a host key learned on first contact'),
      )
      .finally(() => this.sideWrites.delete(write));
    this.sideWrites.add(write);
  }

  /**
   * Writes what has not been written yet, in `tx` when given (the transaction that ends the
   * deployment), and stops the background writes. Waits only for the statement in flight.
   */
  async settle(tx?: EntityManager): Promise<void> {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing?.catch(() => undefined);
    await Promise.all(this.sideWrites);
    await this.write(tx);
  }

  /** The row that takes this call: the key's open row when `fits` its status, else a new one after the others. */
  private rowFor(serverId: string, step: StepInfo, fits: (status: StepStatus) => boolean): StepRow {
    const row = this.open.get(`${serverId}\0${step.key}`);
    return row && fits(row.status) ? row : this.addRow(serverId, step, 'pending');
  }

  private addRow(serverId: string, step: StepInfo, status: StepStatus): StepRow {
    const position = (this.positions.get(serverId) ?? 0) + 1;
    this.positions.set(serverId, position);
    const row: StepRow = {
      id: randomUUID(),
      serverId,
      serverName: this.names.get(serverId) ?? serverId,
      position,
      name: step.name,
      kind: step.action === 'hook' ? 'hook' : 'action',
      status,
      exitCode: null,
      startedAt: null,
      finishedAt: null,
      outputTail: null,
      output: null,
    };
    // Keys repeat within one recorder (a deploy, then its health-check rollback): the newest wins.
    this.open.set(`${serverId}\0${step.key}`, row);
    this.dirty.add(row);
    return row;
  }

  private touch(row: StepRow): void {
    this.dirty.add(row);
    this.schedule(FLUSH_DELAY_MS);
  }

  private schedule(delayMs: number): void {
    if (this.settled || this.timer || this.writing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushInBackground();
    }, delayMs);
  }

  private flushInBackground(): void {
    if (this.settled || this.writing) return;
    this.writing = this.write()
      .catch((error: unknown) =>
        this.logger.warn({ err: error, deploymentId: this.deploymentId }, 'could not write step rows yet'),
      )
      .finally(() => {
        this.writing = null;
        if (this.dirty.size) this.schedule(FLUSH_DELAY_MS);
      });
  }

  private async write(tx?: EntityManager): Promise<void> {
    if (!this.dirty.size) return;
    const rows = [...this.dirty];
    this.dirty.clear();
    const payload = JSON.stringify(
      rows.map((row) => ({
        id: row.id,
        deployment_id: this.deploymentId,
        server_id: row.serverId,
        server_name: row.serverName,
        position: row.position,
        name: row.name,
        kind: row.kind,
        status: row.status,
        exit_code: row.exitCode,
        started_at: row.startedAt,
        finished_at: row.finishedAt,
        output_tail: row.outputTail,
        output: row.output,
      })),
    );
    try {
      const em = tx ?? this.orm.em.fork();
      await em.getConnection().execute(UPSERT_SQL, [payload], 'run', tx?.getTransactionContext());
      this.statements++;
    } catch (error) {
      // The database is away: these rows go again with the next write (at the latest, the final
      // one). Any other refusal would be refused again; it is logged, not retried.
      if (isConnectionError(error)) for (const row of rows) this.dirty.add(row);
      throw error;
    }
    if (!tx) this.onProgress?.();
  }
}
