import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { validateLinkedFolderPath, validateRepository } from '../../engine/index.js';
import { checkFreezeWindow } from '../deployments/index.js';
import {
  checkChannelTarget,
  notificationChannelInputSchema,
  type TargetRulesByPlatform,
} from '../notifications/index.js';
import { type ConfigFile, configFileSchema, type NotificationSpec } from './file-schema.js';

/** The freeze service's field names → the file's. */
const FREEZE_FIELDS: Record<string, string> = {
  freeze_start: 'start',
  freeze_end: 'end',
  duration_minutes: 'duration_minutes',
  cron_timezone: 'timezone',
};

export interface ConfigError {
  line: number;
  column: number;
  /** Where in the file, as a reader would say it: `projects[0].servers[1].port`. */
  path: string;
  message: string;
}

export type LoadedConfig =
  | { ok: true; config: ConfigFile; file: string }
  | { ok: false; errors: ConfigError[]; file: string };

type Path = (string | number)[];

/** Environment variables `${NAME}` are read in these fields only: a hook's script keeps its own `${…}`. */
const INTERPOLATED = new Set(['repository', 'webhook_url', 'secret', 'channel', 'email', 'signing_secret']);

/**
 * Reads `slipway.yml`: YAML syntax, then the schema, then the rules between fields (unique
 * names, servers that exist, safe paths). Every problem is reported with its line, not just the
 * first. Local paths (`./…`, `../…`) in `repository` and in a local server's `deploy_path` are
 * resolved against the file's folder.
 */
export interface LoadOptions {
  /** Each platform's target rules, from the adapters' notification senders. */
  targets: TargetRulesByPlatform;
  /** Where `${NAME}` is read from (default: this process's environment). */
  env?: Record<string, string | undefined>;
}

export async function loadConfigFile(path: string, options: LoadOptions) {
  return parseConfig(await readFile(path, 'utf8'), path, options);
}

export function parseConfig(text: string, file: string, options: LoadOptions): LoadedConfig {
  const env = options.env ?? process.env;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: ConfigError[] = [];
  const at = (offset: number) => {
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  for (const error of [...doc.errors, ...doc.warnings]) {
    errors.push({ ...at(error.pos[0]), path: '', message: error.message.split('\n')[0] ?? error.message });
  }
  if (errors.length) return { ok: false, errors: sorted(errors), file };

  const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const locate = (path: Path, key?: string) => ({
    ...at(offsetOf(doc, path, key)),
    path: pathText(path, key),
  });
  const report = (path: Path, message: string) => errors.push({ ...locate(path), message });
  const parsed = configFileSchema.safeParse(data ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path as Path;
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys)
          errors.push({ ...locate(path, key), message: `unknown field "${key}"` });
      } else {
        report(path, issue.message);
      }
    }
  }
  // The rules between fields are checked on what was written, even where the schema failed,
  // so one run reports every problem.
  const base = dirname(resolve(file));
  const expand = (path: Path, value: string): string =>
    value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
      const found = env[name];
      if (found === undefined) {
        report(path, `${whole}: the environment variable ${name} is not set`);
        return whole;
      }
      return found;
    });
  const projects = list(record(data)?.projects);
  unique(
    projects.map((p) => record(p)?.name),
    ['projects'],
    'name',
    'project',
    report,
  );
  projects.forEach((raw, p) => {
    const project = record(raw);
    if (project)
      checkProject(project, (...rest) => ['projects', p, ...rest], base, report, expand, options.targets);
  });
  if (errors.length || !parsed.success) return { ok: false, errors: sorted(dedupe(errors)), file };
  return { ok: true, config: normalise(parsed.data, base, env), file };
}

/** Local paths resolved against the file's folder, `${NAME}` read from the environment. */
function normalise(config: ConfigFile, base: string, env: Record<string, string | undefined>): ConfigFile {
  const expand = (value: string) =>
    value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '');
  for (const project of config.projects) {
    project.repository = localPath(expand(project.repository), base);
    for (const server of project.servers ?? []) {
      if (server.transport === 'local') server.deploy_path = localPath(server.deploy_path, base);
    }
    for (const pipeline of project.pipelines ?? []) {
      if (pipeline.signing_secret !== undefined) pipeline.signing_secret = expand(pipeline.signing_secret);
    }
    for (const notification of project.notifications ?? []) {
      for (const key of ['webhook_url', 'secret', 'channel'] as const) {
        const value = notification[key];
        if (value !== undefined) notification[key] = expand(value);
      }
      if (typeof notification.email === 'string') notification.email = expand(notification.email);
    }
  }
  return config;
}

function localPath(value: string, base: string): string {
  return /^\.\.?(\/|$)/.test(value) ? resolve(base, value) : value;
}

type Raw = Record<string, unknown>;

function record(value: unknown): Raw | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : null;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function checkProject(
  project: Raw,
  at: (...rest: Path) => Path,
  base: string,
  report: (path: Path, message: string) => void,
  expand: (path: Path, value: string) => string,
  targets: TargetRulesByPlatform,
): void {
  const repository = text(project.repository);
  if (repository !== undefined) {
    check(
      at('repository'),
      () => validateRepository(localPath(expand(at('repository'), repository), base)),
      report,
    );
  }
  const servers = list(project.servers).map(record);
  const declared = new Set(servers.map((s) => text(s?.name)).filter((n): n is string => n !== undefined));
  unique(
    servers.map((s) => s?.name),
    at('servers'),
    'name',
    'server',
    report,
  );
  servers.forEach((server, i) => {
    const raw = text(server?.deploy_path);
    if (raw === undefined) return;
    const local = (server?.transport ?? 'ssh') === 'local';
    const path = local ? localPath(raw, base) : raw;
    if (!isAbsolute(path) || path.split('/').some((part) => part === '..' || part === '.') || path === '/') {
      report(
        at('servers', i, 'deploy_path'),
        local
          ? 'deploy_path must be absolute or start with ./ or ../ (relative to this file), without "." or ".." parts, and not "/"'
          : 'deploy_path must be an absolute path on the server, without "." or ".." parts, and not "/"',
      );
    }
  });
  const checkServers = (names: unknown, path: Path) => {
    list(names).forEach((name, k) => {
      if (typeof name === 'string' && !declared.has(name)) {
        report([...path, k], `server "${name}" is not declared under this project's servers`);
      }
    });
  };
  const environments = list(project.environments).map(record);
  unique(
    environments.map((e) => e?.name),
    at('environments'),
    'name',
    'environment',
    report,
  );
  environments.forEach((environment, i) => {
    checkServers(environment?.servers, at('environments', i, 'servers'));
    list(environment?.freeze_windows).forEach((raw, k) => {
      const window = record(raw);
      if (!window || typeof window.start !== 'string') return;
      // The cron expressions and the time zone, as the freeze service will check them.
      try {
        checkFreezeWindow({
          cronStart: window.start,
          cronEnd: text(window.end) ?? null,
          durationMinutes: typeof window.duration_minutes === 'number' ? window.duration_minutes : null,
          timezone: text(window.timezone) ?? 'UTC',
        });
      } catch (error) {
        const field = String((error as { details?: { field?: string } }).details?.field ?? 'start');
        const key = FREEZE_FIELDS[field] ?? 'start';
        // The path names the field already; the API's name for it is not the file's.
        const message = (error as Error).message.replace(/^freeze_(start|end): /, '');
        report(at('environments', i, 'freeze_windows', k, key), message);
      }
    });
  });
  const pipelines = list(project.pipelines).map(record);
  unique(
    pipelines.map((p) => p?.name),
    at('pipelines'),
    'name',
    'pipeline',
    report,
  );
  const environmentNames = new Set(environments.map((e) => text(e?.name)).filter(Boolean));
  pipelines.forEach((pipeline, i) => {
    const secret = text(pipeline?.signing_secret);
    if (secret !== undefined) expand(at('pipelines', i, 'signing_secret'), secret);
    // Stages name environments of this project: those the file declares, when it declares them.
    if (!project.environments) return;
    list(pipeline?.stages).forEach((stage, k) => {
      const environment = text(record(stage)?.environment);
      if (environment !== undefined && !environmentNames.has(environment)) {
        report(
          at('pipelines', i, 'stages', k, 'environment'),
          `environment "${environment}" is not declared under this project's environments`,
        );
      }
    });
  });
  const hooks = list(project.hooks).map(record);
  unique(
    hooks.map((h) => h?.name),
    at('hooks'),
    'name',
    'hook',
    report,
  );
  hooks.forEach((hook, i) => {
    checkServers(hook?.servers, at('hooks', i, 'servers'));
  });
  const folders = list(project.linked_folders).map(record);
  unique(
    folders.map((f) => f?.from),
    at('linked_folders'),
    'from',
    'linked folder',
    report,
  );
  folders.forEach((folder, i) => {
    const from = text(folder?.from);
    const to = text(folder?.to);
    if (from !== undefined)
      check(at('linked_folders', i, 'from'), () => validateLinkedFolderPath(from, 'linked folder'), report);
    if (to !== undefined)
      check(at('linked_folders', i, 'to'), () => validateLinkedFolderPath(to, 'shared folder'), report);
  });
  unique(
    list(project.members).map((m) => record(m)?.user),
    at('members'),
    'user',
    'member',
    report,
  );
  const notifications = list(project.notifications).map(record);
  unique(
    notifications.map((n) => n?.name),
    at('notifications'),
    'name',
    'notification',
    report,
  );
  notifications.forEach((raw, i) => {
    if (!raw) return;
    const expanded: Raw = { ...raw };
    let unset = false;
    for (const key of INTERPOLATED) {
      const value = text(raw[key]);
      if (value === undefined || key === 'repository') continue;
      expanded[key] = expand(at('notifications', i, key), value);
      unset ||= /\$\{[A-Za-z_][A-Za-z0-9_]*\}/.test(String(expanded[key]));
    }
    // A variable that is not set is the error to fix; the channel checks would only echo it.
    if (unset) return;
    let checked: ReturnType<typeof notificationChannelInputSchema.safeParse>;
    try {
      checked = notificationChannelInputSchema.safeParse(channelInput(expanded as NotificationSpec));
    } catch {
      // The channel schema's URL checks throw on text that is not a URL at all.
      report(at('notifications', i, 'webhook_url'), 'webhook_url must be a URL');
      return;
    }
    const issues = checked.success
      ? checkChannelTarget(targets, checked.data.type, checked.data)
      : checked.error.issues.map((issue) => ({ path: String(issue.path[0] ?? ''), message: issue.message }));
    for (const issue of issues) {
      const key = issue.path === 'webhookUrl' ? 'webhook_url' : issue.path;
      report(at('notifications', i, ...(key ? [key] : [])), issue.message);
    }
  });
}

/** A notification entry of the file in the notification channel service's own terms. */
export function channelInput(spec: NotificationSpec): z.input<typeof notificationChannelInputSchema> {
  return {
    type: spec.type,
    name: spec.name,
    ...(spec.events !== undefined ? { events: spec.events } : {}),
    ...(spec.active !== undefined ? { active: spec.active } : {}),
    ...(spec.webhook_url !== undefined ? { webhookUrl: spec.webhook_url } : {}),
    ...(spec.channel !== undefined ? { channel: spec.channel } : {}),
    ...(spec.email !== undefined ? { email: spec.email } : {}),
    ...(spec.secret !== undefined ? { secret: spec.secret } : {}),
  };
}

function unique(
  values: unknown[],
  path: Path,
  field: string,
  what: string,
  report: (path: Path, message: string) => void,
): void {
  const seen = new Set<string>();
  values.forEach((value, i) => {
    if (typeof value !== 'string') return;
    if (seen.has(value)) report([...path, i, field], `${what} "${value}" appears twice`);
    seen.add(value);
  });
}

function check(path: Path, validate: () => unknown, report: (path: Path, message: string) => void): void {
  try {
    validate();
  } catch (error) {
    report(path, (error as Error).message);
  }
}

/** The offset of the deepest node on `path` (or of the key `key` in the mapping there). */
function offsetOf(doc: Document, path: Path, key?: string): number {
  let node: Node | null = doc.contents;
  let offset = node?.range?.[0] ?? 0;
  const steps = key === undefined ? path : [...path, key];
  for (const [index, step] of steps.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === step);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      // An unknown field is shown at its key; anything else at its value.
      if (key !== undefined && index === steps.length - 1) break;
      node = (pair.value as Node | null) ?? null;
      if (node?.range) offset = node.range[0];
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step] as Node | undefined;
      if (!item) break;
      node = item;
      if (item.range) offset = item.range[0];
    } else break;
  }
  return offset;
}

function pathText(path: Path, key?: string): string {
  const steps = key === undefined ? path : [...path, key];
  return steps
    .map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`))
    .join('');
}

/** A field can fail the schema and a rule with the same words: say it once. */
function dedupe(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.line}:${e.column}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sorted(errors: ConfigError[]): ConfigError[] {
  return errors.sort((a, b) => a.line - b.line || a.column - b.column);
}
