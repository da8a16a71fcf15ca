/**
 * The error catalogue of ratchet. Codes are stable: a retired code is never reused.
 * Terminal errors say the input is wrong (retrying cannot help); retryable ones say the
 * moment is wrong (retrying later may help).
 */
export const ErrorCodes = {
  // input and policy
  BAD_INPUT: 'RATCHET_E_BAD_INPUT',
  PATCH_EMPTY: 'RATCHET_E_PATCH_EMPTY',
  PATCH_NOT_A_DIFF: 'RATCHET_E_PATCH_NOT_A_DIFF',
  PATCH_TOO_LARGE: 'RATCHET_E_PATCH_TOO_LARGE',
  PATCH_OUTSIDE_EDITABLE: 'RATCHET_E_PATCH_OUTSIDE_EDITABLE',
  PATCH_NEW_FILE: 'RATCHET_E_PATCH_NEW_FILE',
  PATCH_DELETED_FILE: 'RATCHET_E_PATCH_DELETED_FILE',
  PATCH_RENAME: 'RATCHET_E_PATCH_RENAME',
  PATCH_COPY: 'RATCHET_E_PATCH_COPY',
  PATCH_MODE_CHANGE: 'RATCHET_E_PATCH_MODE_CHANGE',
  PATCH_SYMLINK: 'RATCHET_E_PATCH_SYMLINK',
  PATCH_SUBMODULE: 'RATCHET_E_PATCH_SUBMODULE',
  PATCH_BINARY: 'RATCHET_E_PATCH_BINARY',
  PATCH_ABSOLUTE_PATH: 'RATCHET_E_PATCH_ABSOLUTE_PATH',
  PATCH_PATH_TRAVERSAL: 'RATCHET_E_PATCH_PATH_TRAVERSAL',
  PATCH_QUOTED_PATH: 'RATCHET_E_PATCH_QUOTED_PATH',
  PATCH_NAME_MISMATCH: 'RATCHET_E_PATCH_NAME_MISMATCH',
  PATCH_MALFORMED_HUNK: 'RATCHET_E_PATCH_MALFORMED_HUNK',
  PATCH_DOES_NOT_APPLY: 'RATCHET_E_PATCH_DOES_NOT_APPLY',
  PATCH_DUPLICATE: 'RATCHET_E_PATCH_DUPLICATE',
  TRACK_INVALID: 'RATCHET_E_TRACK_INVALID',
  TRACK_UNKNOWN: 'RATCHET_E_TRACK_UNKNOWN',
  TRACK_EXISTS: 'RATCHET_E_TRACK_EXISTS',
  TRACK_UNRECOGNISED: 'RATCHET_E_TRACK_UNRECOGNISED',
  COMMIT_UNKNOWN: 'RATCHET_E_COMMIT_UNKNOWN',
  PROPOSAL_UNKNOWN: 'RATCHET_E_PROPOSAL_UNKNOWN',
  EXPERIMENT_UNKNOWN: 'RATCHET_E_EXPERIMENT_UNKNOWN',
  WORKER_UNKNOWN: 'RATCHET_E_WORKER_UNKNOWN',
  /** A worker ID used with another token than the one that registered it. */
  WORKER_NOT_OWNED: 'RATCHET_E_WORKER_NOT_OWNED',
  CONFIG_INVALID: 'RATCHET_E_CONFIG_INVALID',
  LOG_UNREADABLE: 'RATCHET_E_LOG_UNREADABLE',
  // proposers
  LLM_INVALID_ANSWER: 'RATCHET_E_LLM_INVALID_ANSWER',
  LLM_UNAVAILABLE: 'RATCHET_E_LLM_UNAVAILABLE',
  EDIT_NO_MATCH: 'RATCHET_E_EDIT_NO_MATCH',
  EDIT_AMBIGUOUS: 'RATCHET_E_EDIT_AMBIGUOUS',
  EDIT_NO_CHANGE: 'RATCHET_E_EDIT_NO_CHANGE',
  EDIT_DOES_NOT_COMPILE: 'RATCHET_E_EDIT_DOES_NOT_COMPILE',
  // auth
  UNAUTHENTICATED: 'RATCHET_E_UNAUTHENTICATED',
  FORBIDDEN: 'RATCHET_E_FORBIDDEN',
  // leases
  LEASE_UNKNOWN: 'RATCHET_E_LEASE_UNKNOWN',
  LEASE_LOST: 'RATCHET_E_LEASE_LOST',
  LEASE_FINISHED: 'RATCHET_E_LEASE_FINISHED',
  /** This result is being recorded by another call right now: ask again shortly. */
  COMPLETION_BUSY: 'RATCHET_E_COMPLETION_BUSY',
  // workers, hardware and toolchains
  BACKEND_UNAVAILABLE: 'RATCHET_E_BACKEND_UNAVAILABLE',
  NO_MATCHING_TRACK: 'RATCHET_E_NO_MATCHING_TRACK',
  TOOLCHAIN_MISSING: 'RATCHET_E_TOOLCHAIN_MISSING',
  // infrastructure (retryable)
  REDIS_UNAVAILABLE: 'RATCHET_E_REDIS_UNAVAILABLE',
  GIT_FAILED: 'RATCHET_E_GIT_FAILED',
  MERGE_BUSY: 'RATCHET_E_MERGE_BUSY',
  COORDINATOR_UNREACHABLE: 'RATCHET_E_COORDINATOR_UNREACHABLE',
  RUN_FAILED: 'RATCHET_E_RUN_FAILED',
  // volunteers
  SANDBOX_UNAVAILABLE: 'RATCHET_E_SANDBOX_UNAVAILABLE',
  TOKEN_EXPIRED: 'RATCHET_E_TOKEN_EXPIRED',
  TOKEN_REVOKED: 'RATCHET_E_TOKEN_REVOKED',
  RATE_LIMITED: 'RATCHET_E_RATE_LIMITED',
  JOIN_CHECK_FAILED: 'RATCHET_E_JOIN_CHECK_FAILED',
  INTERNAL: 'RATCHET_E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.REDIS_UNAVAILABLE,
  ErrorCodes.GIT_FAILED,
  ErrorCodes.MERGE_BUSY,
  ErrorCodes.COMPLETION_BUSY,
  ErrorCodes.COORDINATOR_UNREACHABLE,
  ErrorCodes.LLM_UNAVAILABLE,
  ErrorCodes.INTERNAL,
  ErrorCodes.RATE_LIMITED,
]);

/** Whether a code says the moment is wrong (retry later) rather than the input. */
export function isRetryableCode(code: string): boolean {
  return RETRYABLE.has(code as ErrorCode);
}

export class RatchetError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RatchetError';
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    this.details = opts.details;
  }
}

export function isRatchetError(e: unknown): e is RatchetError {
  return e instanceof RatchetError;
}

/** Turn anything thrown into an Error, keeping the original as `cause`. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : 'non-error thrown', { cause: e });
}
