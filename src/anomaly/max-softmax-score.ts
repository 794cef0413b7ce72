// The posterior scores now live with the other scorers (src/eval/scorers/posterior-scorers.ts);
// kept here so existing imports keep working.
export { maxSoftmaxScore, normalPosteriorScore } from '../eval/scorers/posterior-scorers.js';
