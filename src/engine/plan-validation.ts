import { SlipwayError } from '../errors.js';
import type { ConnectionSettings, DeploymentPlan, PlanServer } from './plan.js';
import { validateLinkedFolder } from './ref.js';
import { validateReleaseName } from './release-name.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** POSIX-ish user names; they reach `sudo -u` and must not look like options. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}\$?$/;
/** git's `<transport>::<address>` remote-helper syntax (e.g. `ext::sh -c …` runs a program). */
const REMOTE_HELPER = /^[A-Za-z][A-Za-z0-9+.-]*::/;

function invalid(message: string, details?: Record<string, unknown>): SlipwayError {
  return new SlipwayError('invalid_input', message, details);
}

/** A repository URL or path git on the server will fetch from. */
export function validateRepository(repository: string): string {
  if (repository.trim() === '') throw invalid('The repository URL is empty.');
  if (CONTROL.test(repository)) throw invalid('The repository URL contains a control character.');
  if (repository.startsWith('-')) throw invalid('The repository URL may not start with "-".');
  if (REMOTE_HELPER.test(repository)) {
    throw invalid(
      `The repository URL ${JSON.stringify(repository)} uses a git remote helper ("…::"), which is not allowed.`,
    );
  }
  return repository;
}

export function validateServer(server: PlanServer): void {
  const label = `Server ${JSON.stringify(server.name)}`;
  const path = server.deployPath;
  if (
    !path.startsWith('/') ||
    CONTROL.test(path) ||
    path.split('/').some((part) => part === '..' || part === '.')
  ) {
    throw invalid(`${label}: the deploy path must be an absolute path without "." or ".." parts.`, { path });
  }
  if (path.replace(/\/+$/, '') === '') throw invalid(`${label}: the deploy path may not be "/".`);
  if (server.transport === 'ssh') {
    if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) {
      throw invalid(`${label}: port ${server.port} is not between 1 and 65535.`);
    }
    if (!server.host || /\s/.test(server.host) || CONTROL.test(server.host) || server.host.startsWith('-')) {
      throw invalid(`${label}: host ${JSON.stringify(server.host)} is not a host name or address.`);
    }
    if (!USER_NAME.test(server.user))
      throw invalid(`${label}: user ${JSON.stringify(server.user)} is not a valid user name.`);
  }
}

export function validateConnectionSettings(settings: ConnectionSettings): void {
  if (!Number.isInteger(settings.concurrency) || settings.concurrency < 1)
    throw invalid('Concurrency must be at least 1.');
  if (!(settings.commandTimeoutMs > 0) || !(settings.connectTimeoutMs > 0))
    throw invalid('Timeouts must be positive.');
}

export function validateServers(servers: PlanServer[]): void {
  if (servers.length === 0) throw invalid('There are no servers to deploy to.');
  const ids = new Set<string>();
  for (const server of servers) {
    if (ids.has(server.id)) throw invalid(`Server id ${JSON.stringify(server.id)} appears twice.`);
    ids.add(server.id);
    validateServer(server);
  }
}

/**
 * Check everything in a plan that will reach a shell or a path before any server is touched.
 * Values are still quoted when used; this refuses plans that are wrong rather than dangerous.
 */
export function validatePlan(plan: DeploymentPlan): void {
  validateReleaseName(plan.releaseName);
  if (!FULL_SHA.test(plan.commit)) {
    throw invalid(
      `Commit ${JSON.stringify(plan.commit)} is not a full lowercase sha; resolve the ref first.`,
    );
  }
  validateRepository(plan.repository);
  validateServers(plan.servers);
  validateConnectionSettings(plan);
  if (!Number.isInteger(plan.keepReleases) || plan.keepReleases < 1)
    throw invalid('Releases to keep must be at least 1.');
  const envWritten = plan.envFile !== undefined && plan.envFile !== null;
  for (const folder of plan.linkedFolders) {
    validateLinkedFolder(folder);
    if (envWritten && (folder.from === '.env' || folder.to === '.env')) {
      throw invalid('A linked folder may not be ".env": the environment file is linked there.');
    }
  }
  const hookIds = new Set<string>();
  for (const hook of plan.hooks) {
    if (hookIds.has(hook.id)) throw invalid(`Hook id ${JSON.stringify(hook.id)} appears twice.`);
    hookIds.add(hook.id);
    if (hook.runAs && !USER_NAME.test(hook.runAs)) {
      throw invalid(
        `Hook ${JSON.stringify(hook.name)}: run-as user ${JSON.stringify(hook.runAs)} is not a valid user name.`,
      );
    }
  }
}
