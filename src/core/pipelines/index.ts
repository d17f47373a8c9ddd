export { executionSnapshot, phaseStatus } from './execution-views.js';
export {
  type PipelineDefinitionInput,
  type PipelineStageDefinition,
  type PipelineStepDefinition,
  pipelineDefinitionSchema,
  pipelineStageSchema,
  pipelineStepSchema,
  stageSteps,
  writtenStep,
} from './pipeline-definition.js';
export {
  type ExecutionPage,
  emitPipelineNotification,
  MAX_PAGE_SIZE,
  PipelineExecutions,
  type StartInput,
} from './pipeline-executions.js';
export { PipelineRunner } from './pipeline-runner.js';
export {
  PipelineService,
  type PipelineView as PipelineDefinitionView,
  type SavedPipeline,
} from './pipeline-service.js';
export { PipelineView } from './pipeline-view.js';
export { type OutboundFetch, SIGNATURE_HEADER, signBody } from './webhook-trigger.js';
