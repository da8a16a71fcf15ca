export { compileCheck } from './compile.ts';
export { findConstants, formatValue, replaceConstant, unifiedDiff } from './constants.ts';
export { applyEdits, boundedMatches, LlmAnswer } from './edits.ts';
export { learn, type Move, parseMoves } from './lessons.ts';
export { createLlmProposer, type LlmProposerOptions } from './llm.ts';
export {
  directionScores,
  type HistoryItem,
  keepsDivisibility,
  type Mutation,
  mutatedName,
  mutatedNames,
  proposeMutation,
} from './mutation.ts';
export { createMutationCore, type MutationCoreOptions } from './mutation-proposer.ts';
export type { AnswerReport, InFlightItem, ProposerHistory, ProposerPort } from './port.ts';
export { buildMessages, type PromptHistoryItem } from './prompt.ts';
