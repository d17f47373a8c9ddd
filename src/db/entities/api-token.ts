import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Member } from './member.js';

/**
 * A bearer token for the REST API. It acts as its member, limited to its scopes. Only a
 * SHA-256 of the token is stored (tokens are 256 random bits, so a fast hash is enough); the
 * token itself is shown once, when it is made.
 */
export const ApiToken = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  indexes: [{ properties: ['member'] }],
  properties: {
    id: uuidPrimaryKey(),
    member: () => p.manyToOne(Member).deleteRule('cascade'),
    name: p.string().length(100),
    tokenHash: p.string().length(64).unique().hidden(),
    /** The token's first characters, so a person can tell their tokens apart in a list. */
    prefix: p.string().length(16),
    scopes: p.json<string[]>().default('[]'),
    createdByName: p.string().length(255),
    createdAt: createdAt(),
    lastUsedAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type IApiToken = InferEntity<typeof ApiToken>;
