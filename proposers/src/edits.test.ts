import { ErrorCodes } from '@ratchet/shared';
import { describe, expect, it } from 'vitest';
import { applyEdits, boundedMatches } from './edits.ts';

const files = { 'train.py': 'UNEMBEDDING_LR = 0.004\nEMBEDDING_LR = 0.6\nx = EMBEDDING_LR\n' };
const edit = (search: string, replace: string, file = 'train.py') => ({
  description: 'd',
  edits: [{ file, search, replace }],
});

describe('applyEdits', () => {
  it('matches whole identifiers only', () => {
    expect(boundedMatches(files['train.py'], 'EMBEDDING_LR = 0.6')).toHaveLength(1);
    const r = applyEdits(files, ['train.py'], edit('EMBEDDING_LR = 0.6', 'EMBEDDING_LR = 0.3'));
    expect(r.ok && r.files['train.py']).toBe(
      'UNEMBEDDING_LR = 0.004\nEMBEDDING_LR = 0.3\nx = EMBEDDING_LR\n',
    );
  });
  it('refuses zero or several matches, other files and no-ops, each with its code', () => {
    expect(applyEdits(files, ['train.py'], edit('LR = 9', 'LR = 1'))).toMatchObject({
      ok: false,
      code: ErrorCodes.EDIT_NO_MATCH,
    });
    expect(applyEdits(files, ['train.py'], edit('EMBEDDING_LR', 'E'))).toMatchObject({
      ok: false,
      code: ErrorCodes.EDIT_AMBIGUOUS,
    });
    expect(applyEdits(files, ['train.py'], edit('x', 'y', 'prepare.py'))).toMatchObject({
      ok: false,
      code: ErrorCodes.PATCH_OUTSIDE_EDITABLE,
    });
    expect(applyEdits(files, ['train.py'], edit('x = EMBEDDING_LR', 'x = EMBEDDING_LR'))).toMatchObject({
      ok: false,
      code: ErrorCodes.EDIT_NO_CHANGE,
    });
  });
});
