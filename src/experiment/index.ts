// Model construction from typed options — re-exports only.
export { auxiliaryRotation, backboneSpec, buildModel, buildOneClassRotation, checkBatchFits, loadPretrainedWeights, type ModelOptions, ONE_CLASS_ROTATION } from './model.js';
export type { HeadRecord, RunDescription, RunInfo } from './run-info.js';
