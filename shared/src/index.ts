export * from './errors.ts';
export * from './hardware.ts';
export * from './patch-policy.ts';
export * from './results-tsv.ts';
export * from './runlog.ts';
export * from './schemas.ts';
export * from './track.ts';
