import type { PlanRules } from '../config/types.js';

export interface Readiness {
  ready: boolean;
  planner_confidence: number;
  reviewer_confidence: number;
  /** Why it is not ready (absent when it is). */
  reason?: string;
  gaps: string[];
  questions: string[];
}

/**
 * The readiness gate: a task is ready when the planner and the reviewer both reach min_confidence and differ
 * by at most max_spread (both high: hand it off; both low: not ready; far apart: a person looks). A task the
 * static checks flagged as not atomic is never ready. Pure.
 */
export function judgeReadiness(
  rules: Pick<PlanRules, 'minConfidence' | 'maxSpread'>,
  planner: number,
  review: { confidence: number; gaps: string[]; questions: string[] },
  notAtomic?: string,
): Readiness {
  const reviewer = review.confidence;
  const reasons: string[] = [];
  if (notAtomic) reasons.push(notAtomic);
  const low = [
    planner < rules.minConfidence ? `planner ${planner}` : '',
    reviewer < rules.minConfidence ? `reviewer ${reviewer}` : '',
  ].filter(Boolean);
  if (low.length > 0) reasons.push(`confidence below min_confidence ${rules.minConfidence}: ${low.join(', ')}`);
  const spread = Math.round(Math.abs(planner - reviewer) * 1000) / 1000;
  if (spread > rules.maxSpread)
    reasons.push(`planner ${planner} and reviewer ${reviewer} differ by ${spread} (max_spread ${rules.maxSpread}): a person should look`);
  const verdict: Readiness = {
    ready: reasons.length === 0,
    planner_confidence: planner,
    reviewer_confidence: reviewer,
    gaps: review.gaps,
    questions: review.questions,
  };
  if (reasons.length > 0) verdict.reason = reasons.join('; ');
  return verdict;
}
