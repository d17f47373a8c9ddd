export type { ChatIdentityRef, MemberRoleRow } from './access-policy.js';
export { AccessPolicy } from './access-policy.js';
export type { Actor } from './actor.js';
export { SYSTEM_ACTOR } from './actor.js';
export type { ApiPrincipal, ApiTokenView, AuthenticationFailure } from './api-token-service.js';
export { ApiTokenService } from './api-token-service.js';
export { recordAudit } from './audit-log.js';
export type { ConsoleIdentity, IssuedLink, StartedSession } from './console-sign-in.js';
export { CONSOLE_SESSION_TTL_MS, ConsoleSignIn, SIGN_IN_LINK_TTL_MS } from './console-sign-in.js';
