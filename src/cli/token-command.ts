import { parseArgs } from 'node:util';
import { openAdminServices } from '../app/admin.js';
import type { Config } from '../config.js';
import type { ChatIdentityRef } from '../core/access/index.js';
import { SlipwayError } from '../errors.js';
import { API_SCOPES, CHAT_PLATFORMS, type ChatPlatform } from '../vocabulary.js';

export const TOKEN_USAGE = [
  'slipway token create --scopes <scope,…|all|none> [--name <name>] [--member <platform:workspace:user>] [--expires-in-days <n>]',
  'slipway token list',
  'slipway token revoke <id or prefix>',
];

/**
 * API tokens from the command line. `create` prints the token alone on stdout (shown once:
 * Slipway keeps only its hash), so `TOKEN=$(slipway token create …)` works.
 */
export async function tokenCommand(argv: string[], config: Config): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      scopes: { type: 'string' },
      name: { type: 'string' },
      member: { type: 'string' },
      'expires-in-days': { type: 'string' },
    },
  });
  const sub = positionals[0];
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
    process.stderr.write(`Usage:\n${TOKEN_USAGE.map((line) => `  ${line}`).join('\n')}\n`);
    return 1;
  }
  let create: { scopes: string[]; identity: ChatIdentityRef; expiresAt: Date | null } | undefined;
  if (sub === 'create') create = parseCreate(values, config);
  const admin = await openAdminServices(config);
  try {
    if (create) {
      const { token, view } = await admin.tokens.create(admin.actor, {
        member: { identity: create.identity },
        name: values.name ?? `cli-${new Date().toISOString().slice(0, 10)}`,
        scopes: create.scopes,
        expiresAt: create.expiresAt,
      });
      process.stdout.write(`${token}\n`);
      process.stderr.write(
        `Created API token "${view.name}" (${view.prefix}…) for ${view.memberName}, scopes: ${view.scopes.join(', ') || 'none (reads only)'}.\nIt is shown only now: Slipway keeps only its hash.\n`,
      );
      return 0;
    }
    if (sub === 'revoke') {
      const id = positionals[1];
      if (!id)
        throw new SlipwayError('invalid_input', 'Say which token: slipway token revoke <id or prefix>.');
      const view = await admin.tokens.revoke(null, id);
      process.stdout.write(`Revoked API token "${view.name}" (${view.prefix}…).\n`);
      return 0;
    }
    const rows = await admin.tokens.list(null);
    for (const row of rows) {
      const state = row.revokedAt
        ? 'revoked'
        : row.expiresAt && row.expiresAt < new Date()
          ? 'expired'
          : 'active';
      process.stdout.write(
        `${row.id}  ${row.prefix}…  ${row.name}  ${row.memberName}  ${state}  ${row.scopes.join(',') || '-'}\n`,
      );
    }
    if (rows.length === 0) process.stdout.write('No API tokens.\n');
    return 0;
  } finally {
    await admin.close();
  }
}

function parseCreate(
  values: {
    scopes?: string | undefined;
    member?: string | undefined;
    'expires-in-days'?: string | undefined;
  },
  config: Config,
) {
  if (values.scopes === undefined) {
    throw new SlipwayError(
      'invalid_input',
      `Give --scopes: a comma-separated list of ${API_SCOPES.join(', ')}; or all; or none for a read-only token.`,
    );
  }
  const scopes =
    values.scopes === 'all'
      ? [...API_SCOPES]
      : values.scopes === 'none'
        ? []
        : values.scopes
            .split(',')
            .map((scope) => scope.trim())
            .filter(Boolean);
  const member = values.member ?? (config.admins[0] ? Object.values(config.admins[0]).join(':') : undefined);
  if (!member) {
    throw new SlipwayError(
      'invalid_input',
      'Give --member platform:workspace:user (the person the token acts as), or set SLIPWAY_ADMINS.',
    );
  }
  const [platform, workspace, userId, ...rest] = member.split(':');
  if (
    !platform ||
    !workspace ||
    !userId ||
    rest.length ||
    !(CHAT_PLATFORMS as readonly string[]).includes(platform)
  ) {
    throw new SlipwayError(
      'invalid_input',
      `--member must be platform:workspace:user with platform one of ${CHAT_PLATFORMS.join(', ')} (e.g. web:local:ada).`,
    );
  }
  let expiresAt: Date | null = null;
  if (values['expires-in-days'] !== undefined) {
    const days = Number(values['expires-in-days']);
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      throw new SlipwayError('invalid_input', '--expires-in-days must be a whole number of days, 1 to 3650.');
    }
    expiresAt = new Date(Date.now() + days * 86_400_000);
  }
  return {
    scopes,
    identity: { platform: platform as ChatPlatform, workspace, userId, displayName: '' },
    expiresAt,
  };
}
