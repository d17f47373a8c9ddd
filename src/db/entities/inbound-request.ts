import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { createdAt } from './common.js';

/**
 * A signed request Slipway has already acted on (a Slack request's signature, a Discord
 * interaction id, a GitHub delivery id, …), kept until its replay window has passed, so that a
 * replayed or retried request runs once — across replicas, since they share this table.
 */
export const InboundRequest = defineEntity({
  name: 'InboundRequest',
  tableName: 'inbound_requests',
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    /** `<source>:<what identifies the request>`, e.g. `slack:sig:<sha256>`, `github:<delivery id>`. */
    key: p.string().length(200).primary(),
    receivedAt: createdAt(),
    expiresAt: p.datetime(),
  },
});
export type IInboundRequest = InferEntity<typeof InboundRequest>;
