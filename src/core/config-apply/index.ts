export { formatErrors, formatOutcome, formatPlan } from './format.js';
export { loadConfigFile, parseConfig } from './load.js';
export { ConfigPlanner } from './planner.js';
