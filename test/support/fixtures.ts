import type { EntityManager } from '@mikro-orm/postgresql';
import { Environment, Member, Project, Server } from '../../src/db/entities/index.js';
import { runCommand } from '../harness/run-command.js';

let counter = 0;

/** A project with one environment, one server and one member, flushed. */
export async function seedProject(em: EntityManager, name = `p${++counter}-${Date.now().toString(36)}`) {
  const project = em.create(Project, {
    name,
    repository: 'https://example.invalid/repo.git',
    sshPrivateKey: 'v1.test.sealed',
    sshPublicKey: 'ssh-ed25519 AAAA test',
  });
  const server = em.create(Server, {
    project,
    name: 'web-1',
    host: '127.0.0.1',
    connectAs: 'deploy',
    deployPath: '/srv/app',
  });
  const environment = em.create(Environment, {
    project,
    name: 'staging',
    slug: 'staging',
    tier: 'staging',
    branch: 'main',
  });
  environment.servers.add(server);
  const member = em.create(Member, { displayName: 'Ada' });
  await em.flush();
  return { project, server, environment, member };
}

/**
 * CI reports every commit of the repository green (a commit status per commit), so deploys to
 * gated tiers pass their test gate: for tests about something else than the gate.
 */
export async function reportGreen(
  statuses: {
    report(
      actor: { memberId: string | null; name: string; source: string },
      project: string,
      sha: string,
      input: { state: 'success'; context: string },
    ): Promise<unknown>;
  },
  project: string,
  repository: string,
): Promise<void> {
  const shas = (await runCommand('git', ['-C', repository, 'rev-list', '--all'])).split('\n').filter(Boolean);
  const ci = { memberId: null, name: 'ci', source: 'test' };
  for (const sha of shas) await statuses.report(ci, project, sha, { state: 'success', context: 'ci' });
}
