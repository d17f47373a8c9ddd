export { ApprovalService } from './approval-service.js';
