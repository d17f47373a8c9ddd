import type { EntityManager } from '@mikro-orm/postgresql';
import { DeploymentStep, Server } from '../../db/entities/index.js';
import type { PlanServer, RunObserver, StepInfo, StepOutcome } from '../../engine/index.js';
import type { Logger } from '../../logger.js';

/**
 * Writes the engine's progress into deployment_steps as it happens: a row when a step starts,
 * updated when it ends. Also pins host keys learned on first contact. Progress listeners (chat
 * messages edited in place, the web console) read these rows.
 */
export class StepRecorder implements RunObserver {
  private readonly rows = new Map<string, string>();
  private readonly positions = new Map<string, number>();
  private readonly names: Map<string, string>;

  constructor(
    private readonly em: EntityManager,
    private readonly deploymentId: string,
    servers: PlanServer[],
    private readonly logger: Logger,
    private readonly onProgress?: () => void,
  ) {
    this.names = new Map(servers.map((server) => [server.id, server.name]));
  }

  async onStepStarted(serverId: string, step: StepInfo, startedAt: Date): Promise<void> {
    const position = (this.positions.get(serverId) ?? 0) + 1;
    this.positions.set(serverId, position);
    const row = this.em.create(DeploymentStep, {
      deployment: this.deploymentId,
      server: serverId,
      serverName: this.names.get(serverId) ?? serverId,
      position,
      name: step.name,
      kind: step.action === 'hook' ? 'hook' : 'action',
      status: 'running',
      startedAt,
    });
    await this.em.flush();
    this.rows.set(`${serverId}\0${step.key}`, row.id);
    this.onProgress?.();
  }

  async onStepFinished(serverId: string, step: StepInfo, outcome: StepOutcome): Promise<void> {
    const key = `${serverId}\0${step.key}`;
    const id = this.rows.get(key);
    // Keys repeat across runs on one recorder (a deploy, then its health-check rollback).
    this.rows.delete(key);
    const values = {
      status: outcome.status,
      exitCode: outcome.exitCode,
      startedAt: outcome.startedAt,
      finishedAt: outcome.finishedAt,
      outputTail: outcome.message && !outcome.outputTail ? outcome.message : outcome.outputTail,
      output: outcome.output,
    };
    if (id) {
      await this.em.nativeUpdate(DeploymentStep, { id }, values);
    } else {
      // A step that never started (skipped after another server failed) still gets its row.
      const position = (this.positions.get(serverId) ?? 0) + 1;
      this.positions.set(serverId, position);
      await this.em.insert(DeploymentStep, {
        deployment: this.deploymentId,
        server: serverId,
        serverName: this.names.get(serverId) ?? serverId,
        position,
        name: step.name,
        kind: step.action === 'hook' ? 'hook' : 'action',
        ...values,
      });
    }
    this.onProgress?.();
  }

  async onHostKeyLearned(serverId: string, fingerprint: string): Promise<void> {
    const pinned = await this.em.nativeUpdate(
      Server,
      { id: serverId, hostKeyFingerprint: null },
      { hostKeyFingerprint: fingerprint },
    );
    if (pinned) this.logger.info({ serverId, fingerprint }, 'host key pinned on first connection');
  }
}
