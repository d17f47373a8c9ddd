/**
 * What an API token may change (Envoyer's scopes). Every GET needs only a valid token;
 * `*:create` covers creating and updating. Roles still apply on top: a token acts as its
 * member, so a scope never grants more than the member's role on the project allows.
 */
export const API_SCOPES = [
  'projects:create',
  'projects:delete',
  'servers:create',
  'servers:delete',
  'environments:create',
  'environments:delete',
  'hooks:create',
  'hooks:delete',
  'deployments:create',
  'deployments:delete',
  'heartbeats:create',
  'heartbeats:delete',
  'notifications:create',
  'notifications:delete',
  'collaborators:create',
  'collaborators:delete',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export function isApiScope(value: string): value is ApiScope {
  return (API_SCOPES as readonly string[]).includes(value);
}
