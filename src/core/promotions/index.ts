export type { CombinedState } from './commit-status-service.js';
export { CommitStatusService } from './commit-status-service.js';
export { PromotionService } from './promotion-service.js';
export { TestGate } from './test-gate.js';
