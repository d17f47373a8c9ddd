export { PipelineView } from './pipeline-view.js';
