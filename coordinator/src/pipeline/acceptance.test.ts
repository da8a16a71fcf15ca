import { describe, expect, it } from 'vitest';
import { decideAcceptance } from './acceptance.ts';

describe('decideAcceptance', () => {
  it('keeps an improvement beyond the margin', () => {
    const d = decideAcceptance({ candidateBpb: 0.99, baselineBpb: 1.0, minMargin: 0.001 });
    expect(d.verdict).toBe('keep');
    expect(d.delta).toBeCloseTo(-0.01, 12);
  });
  it('discards an improvement within the margin, a tie and a regression', () => {
    expect(decideAcceptance({ candidateBpb: 0.9995, baselineBpb: 1.0, minMargin: 0.001 }).verdict).toBe(
      'discard',
    );
    expect(decideAcceptance({ candidateBpb: 1.0, baselineBpb: 1.0, minMargin: 0 }).verdict).toBe('discard');
    expect(decideAcceptance({ candidateBpb: 1.1, baselineBpb: 1.0, minMargin: 0.001 }).verdict).toBe(
      'discard',
    );
  });
  it('explains its verdict with the numbers', () => {
    expect(decideAcceptance({ candidateBpb: 1.1, baselineBpb: 1.0, minMargin: 0.001 }).reason).toContain(
      '+0.100000',
    );
  });
});
