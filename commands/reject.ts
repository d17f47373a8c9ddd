import { approvalDecision } from './approve.js';

export default approvalDecision('reject');
