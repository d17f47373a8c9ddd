import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiToken, type IApiToken, Member } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import { type ApiScope, isApiScope, isUuid, roleAtLeast } from '../../vocabulary.js';
import type { AccessPolicy, ChatIdentityRef } from './access-policy.js';
import type { Actor } from './actor.js';
import { recordAudit } from './audit-log.js';

/** `slw_` + 43 base64url characters (256 random bits). */
const TOKEN_SHAPE = /^slw_[A-Za-z0-9_-]{43}$/;
/** lastUsedAt is a hint for people, not an audit trail: written at most once a minute per token. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiPrincipal {
  tokenId: string;
  tokenName: string;
  scopes: ApiScope[];
  actor: Actor;
}

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  memberId: string;
  memberName: string;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export type AuthenticationFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

export type Authentication =
  | { ok: true; principal: ApiPrincipal }
  | { ok: false; reason: AuthenticationFailure };

export interface NewToken {
  /** The member the token acts as: by chat identity, or by id. */
  member: { identity: ChatIdentityRef } | { memberId: string };
  name: string;
  scopes: readonly string[];
  expiresAt?: Date | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * API tokens: made by `slipway token create` or by a global admin over the API, stored as a
 * hash, shown once. A token acts as its member under the member's roles, limited to its scopes.
 */
export class ApiTokenService {
  constructor(
    private readonly orm: Orm,
    private readonly access: AccessPolicy,
  ) {}

  /**
   * Makes a token. `creator` is who asked (audited); `limit` caps the scopes (a token made over
   * the API may not hold scopes its maker's token lacks). Role checks are the caller's.
   */
  async create(
    creator: Actor,
    input: NewToken,
    limit?: readonly ApiScope[],
  ): Promise<{ token: string; view: ApiTokenView }> {
    const scopes = [...new Set(input.scopes)];
    const unknown = scopes.filter((scope) => !isApiScope(scope));
    if (unknown.length) {
      throw new SlipwayError(
        'invalid_input',
        `Unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}.`,
        { field: 'scopes' },
      );
    }
    if (limit) {
      const beyond = scopes.filter((scope) => !limit.includes(scope as ApiScope));
      if (beyond.length) {
        throw new SlipwayError(
          'forbidden',
          `A token cannot grant scopes it does not hold itself: ${beyond.join(', ')}.`,
        );
      }
    }
    const name = input.name.trim();
    if (!name || name.length > 100) {
      throw new SlipwayError('invalid_input', 'A token name has 1 to 100 characters.', { field: 'name' });
    }
    const memberId =
      'memberId' in input.member
        ? input.member.memberId
        : (await this.access.resolve(input.member.identity)).memberId;
    if (!memberId) throw new SlipwayError('not_found', 'There is no such member.');
    const token = `slw_${randomBytes(32).toString('base64url')}`;
    const em = this.orm.em.fork();
    const member = await em.findOne(Member, { id: memberId });
    if (!member) throw new SlipwayError('not_found', `There is no member ${memberId}.`);
    const row = em.create(ApiToken, {
      member,
      name,
      tokenHash: hashToken(token),
      prefix: token.slice(0, 12),
      scopes: scopes.sort(),
      createdByName: creator.name,
      expiresAt: input.expiresAt ?? null,
    });
    recordAudit(em, creator, {
      action: 'api_token.create',
      result: 'ok',
      targetType: 'api_token',
      targetId: row.id,
      details: { name, scopes: row.scopes, memberId },
    });
    await em.flush();
    return { token, view: view(row) };
  }

  /** Cheap on purpose: one indexed query per API request (and a write at most once a minute). */
  async authenticate(header: string | undefined): Promise<Authentication> {
    if (!header) return { ok: false, reason: 'missing' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match?.[1];
    if (!token || !TOKEN_SHAPE.test(token)) return { ok: false, reason: 'malformed' };
    const em = this.orm.em.fork();
    const row = await em.findOne(ApiToken, { tokenHash: hashToken(token) }, { populate: ['member'] });
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.revokedAt) return { ok: false, reason: 'revoked' };
    const now = Date.now();
    if (row.expiresAt && row.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await em.nativeUpdate(ApiToken, { id: row.id }, { lastUsedAt: new Date(now) });
    }
    return {
      ok: true,
      principal: {
        tokenId: row.id,
        tokenName: row.name,
        scopes: row.scopes.filter(isApiScope),
        actor: {
          memberId: row.member.id,
          name: `${row.member.displayName} (token ${row.name})`.slice(0, 255),
          source: 'api',
        },
      },
    };
  }

  /** A member's own tokens; a global admin sees everyone's, and so does the CLI (`null`). */
  async list(actor: Actor | null): Promise<ApiTokenView[]> {
    const em = this.orm.em.fork();
    const all = !actor || (await this.isGlobalAdmin(actor, em));
    if (!all && !actor.memberId) return [];
    const rows = await em.find(ApiToken, all ? {} : { member: actor.memberId }, {
      populate: ['member'],
      orderBy: { createdAt: 'asc' },
    });
    return rows.map(view);
  }

  /** The member revokes their own token; a global admin any token. Revoking twice changes nothing. */
  async revoke(actor: Actor | null, idOrPrefix: string): Promise<ApiTokenView> {
    const em = this.orm.em.fork();
    const where = isUuid(idOrPrefix) ? { id: idOrPrefix } : { prefix: idOrPrefix };
    const row = await em.findOne(ApiToken, where, { populate: ['member'] });
    if (!row) throw new SlipwayError('not_found', `There is no API token ${idOrPrefix}.`);
    // `null`: the CLI, which holds the database's own authority.
    if (actor && row.member.id !== actor.memberId && !(await this.isGlobalAdmin(actor, em))) {
      throw new SlipwayError('forbidden', 'Only its owner or a global admin can revoke that token.');
    }
    if (!row.revokedAt) {
      row.revokedAt = new Date();
      recordAudit(em, actor ?? { memberId: null, name: 'cli', source: 'cli' }, {
        action: 'api_token.revoke',
        result: 'ok',
        targetType: 'api_token',
        targetId: row.id,
        details: { name: row.name },
      });
      await em.flush();
    }
    return view(row);
  }

  async isGlobalAdmin(actor: Actor, em: EntityManager = this.orm.em.fork()): Promise<boolean> {
    const role = await this.access.roleOf(em, actor.memberId, null);
    return !!role && roleAtLeast(role, 'admin');
  }
}

/** The member must be loaded. */
function view(row: IApiToken): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    memberId: row.member.id,
    memberName: row.member.displayName,
    createdBy: row.createdByName,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt ?? null,
    expiresAt: row.expiresAt ?? null,
    revokedAt: row.revokedAt ?? null,
  };
}
