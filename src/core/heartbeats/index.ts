export {
  defaultGraceMinutes,
  describeSchedule,
  HEARTBEAT_INTERVALS,
  nextDueAt,
  validateCron,
} from './heartbeat-schedule.js';
export type { CheckInOutcome, HeartbeatInput, HeartbeatView } from './heartbeat-service.js';
export { HeartbeatService, heartbeatInputSchema } from './heartbeat-service.js';
export { HeartbeatSweep } from './heartbeat-sweep.js';
