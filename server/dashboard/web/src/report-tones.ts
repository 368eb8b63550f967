/**
 * What each report state means, for the report-state bars (issue 18): a
 * colour class and words beside it, so colour is never the only cue.
 * protocol §5: failed, rolled_back, rejected and timed_out count as failures;
 * §7: `cancelled` (an operator withdrew the offer) is counted apart from them.
 */
export type Tone = 'total' | 'good' | 'bad' | 'progress' | 'idle';

export interface StateMeaning {
  tone: Tone;
  /** A symbol (hidden from screen readers: the words say it). */
  mark: string;
  words: string;
}

const MEANINGS: Record<string, StateMeaning> = {
  offered: { tone: 'total', mark: '∑', words: 'all offered' },
  silent: { tone: 'idle', mark: '○', words: 'no report' },
  received: { tone: 'progress', mark: '…', words: 'in progress' },
  downloading: { tone: 'progress', mark: '…', words: 'in progress' },
  downloaded: { tone: 'progress', mark: '…', words: 'in progress' },
  installing: { tone: 'progress', mark: '…', words: 'in progress' },
  applied: { tone: 'good', mark: '✔', words: 'success' },
  failed: { tone: 'bad', mark: '✕', words: 'failure' },
  rolled_back: { tone: 'bad', mark: '✕', words: 'failure' },
  rejected: { tone: 'bad', mark: '✕', words: 'failure' },
  timed_out: { tone: 'bad', mark: '✕', words: 'failure' },
  declined: { tone: 'idle', mark: '–', words: 'declined, not a failure' },
  cancelled: { tone: 'idle', mark: '–', words: 'withdrawn, not a failure' },
};

export const meaningOf = (state: string): StateMeaning => MEANINGS[state] ?? { tone: 'idle', mark: '•', words: 'other' };
