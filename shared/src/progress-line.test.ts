import { describe, expect, it } from 'vitest';
import { progressFields } from './progress-line.ts';

describe('progressFields', () => {
  it("reads step, percent, loss and time left from upstream's progress line", () => {
    const line =
      'step 00042 (14.0%) | loss: 3.456789 | lrm: 1.00 | dt: 301ms | tok/sec: 1,234,567 | mfu: 39.8% | epoch: 1 | remaining: 258s';
    expect(progressFields(line)).toEqual({ step: 42, percent: 14, loss: 3.456789, remainingS: 258 });
  });
  it('reads the tiny track line, and gives null for what a line lacks', () => {
    expect(progressFields('step 00007 (2.5%) | loss: 5.1e-01 | lr: 3.00e-03 | remaining: 12s')).toEqual({
      step: 7,
      percent: 2.5,
      loss: 0.51,
      remainingS: 12,
    });
    expect(progressFields('warming up')).toEqual({ step: null, percent: null, loss: null, remainingS: null });
  });
});
