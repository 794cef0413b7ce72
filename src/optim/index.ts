// Optimizers (libtorch's own), parameter groups and learning-rate schedules — re-exports only.
export { Adam, type AdamOptions, AdamW, Optimizer, type OptimizerKind, SGD, type SGDOptions } from './optimizer.js';
export { type GroupOptimizerConfig, type ParamGroup, ParamGroupsOptimizer } from './param-groups.js';
export { checkSchedule, learningRateAt, type ScheduleConfig, SCHEDULES } from './schedule.js';
