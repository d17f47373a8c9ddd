import { Server } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import type { DeploymentRunner } from '../../engine/index.js';
import { type Actor, recordAudit } from '../access/index.js';
import { planServer } from '../deployments/index.js';
import { findProject, findServer } from '../lookup.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';

export interface ConnectionCheck {
  server: string;
  status: 'successful' | 'failed';
  checkedAt: Date;
  /** Why it failed (never a secret): refused login, changed host key, timeout, … */
  message: string | null;
  hostKeyFingerprint: string | null;
  /** The release `current` points to, when the server already holds one. */
  currentRelease: string | null;
}

/**
 * Envoyer's "refresh connection": log in to the server with the engine's own transport and
 * the project's key, read its release state, and record whether that worked. A first contact
 * pins the host key, exactly as a deployment would.
 */
export class ServerConnectionCheck {
  constructor(
    private readonly orm: Orm,
    private readonly runner: DeploymentRunner,
    private readonly secrets: SecretBox,
    private readonly settings: { connectTimeoutMs: number; commandTimeoutMs: number },
  ) {}

  async refresh(actor: Actor, projectName: string, serverKey: string): Promise<ConnectionCheck> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const server = await findServer(em, project, serverKey);
    let learned: string | null = null;
    const [inspection] = await this.runner.inspect(
      [planServer(server)],
      {
        privateKey: this.secrets.open(project.sshPrivateKey, SECRET_PURPOSE.projectSshKey),
        concurrency: 1,
        connectTimeoutMs: this.settings.connectTimeoutMs,
        commandTimeoutMs: this.settings.commandTimeoutMs,
      },
      (_serverId, fingerprint) => {
        learned = fingerprint;
      },
    );
    const checkedAt = new Date();
    const failed = inspection?.error ?? null;
    const status = failed ? 'failed' : 'successful';
    await em.nativeUpdate(
      Server,
      { id: server.id },
      {
        connectionStatus: status,
        connectionCheckedAt: checkedAt,
        // Pin only what was learned on this very login, and only where nothing was pinned.
        ...(learned && !server.hostKeyFingerprint ? { hostKeyFingerprint: learned } : {}),
      },
    );
    recordAudit(em, actor, {
      action: 'server.refresh',
      result: failed ? 'failed' : 'ok',
      projectId: project.id,
      targetType: 'server',
      targetId: server.id,
      details: failed ? { error: failed } : {},
    });
    await em.flush();
    return {
      server: server.name,
      status,
      checkedAt,
      message: failed,
      hostKeyFingerprint: server.hostKeyFingerprint ?? learned,
      currentRelease: inspection?.currentRelease ?? null,
    };
  }
}
