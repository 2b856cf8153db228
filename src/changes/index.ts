/** Runtime config changes (issue 12): their kinds, shape, application, conflicts and description. */
export { applyChange, type ChangeOutcome, configIssues } from './apply.js';
export * from './change.js';
export { conflicts, conflictsPending } from './conflicts.js';
export { describeChange } from './describe-change.js';
export { fitProblems } from './fit.js';
export {
  CHANGE_BYTES_MAX,
  type ChangeParse,
  configChangeSchema,
  parseChange,
  SETTABLE_KEYS,
} from './parse-change.js';
