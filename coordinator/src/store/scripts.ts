/**
 * Every Lua script the coordinator runs in Redis, in one place. Each is atomic in Redis, so
 * a check and the write that depends on it cannot be split by another client.
 */

/**
 * Delete a key only if it still holds a token (a lock or a lease we own).
 * KEYS[1] the key; ARGV[1] the token. Returns 1 when deleted, 0 otherwise.
 */
export const DELETE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Finish a lease: delete the JSON lease record only if its `token` field is ours.
 * KEYS[1] the lease key; ARGV[1] the lease token. Returns 1 when deleted, 0 otherwise.
 */
export const FINISH_LEASE =
  "local v = redis.call('GET', KEYS[1]); if not v then return 0 end; " +
  "local ok, l = pcall(cjson.decode, v); if ok and l['token'] == ARGV[1] then redis.call('DEL', KEYS[1]); return 1 end; return 0";

/**
 * Add a member to a re-verification batch if it is still the open one.
 * KEYS[1] the class's open-batch key; KEYS[2] that batch's member list.
 * ARGV[1] the batch id seen open; ARGV[2] the proposal id. Returns 1 when added, 0 when the
 * batch closed meanwhile.
 */
export const BATCH_JOIN = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('RPUSH', KEYS[2], ARGV[2]) return 1 end return 0`;

/**
 * Open a new batch with its first member, unless one is open already.
 * KEYS[1] the class's open-batch key; KEYS[2] the new batch's member list.
 * ARGV[1] the new batch id; ARGV[2] the proposal id. Returns 1 when opened, 0 otherwise.
 */
export const BATCH_OPEN = `if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('RPUSH', KEYS[2], ARGV[2]) return 1 end return 0`;

/**
 * Close a batch to new members (it is being leased) and return them.
 * KEYS[1] the class's open-batch key; KEYS[2] the batch's member list. ARGV[1] the batch id.
 * Returns the member ids in the order they joined.
 */
export const BATCH_FREEZE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return redis.call('LRANGE', KEYS[2], 0, -1)`;

/**
 * Hand the class's run slot from a holder that is no longer out to a new batch.
 * KEYS[1] the run-slot key; ARGV[1] the holder seen; ARGV[2] the new holder.
 * Returns 1 when taken over, 0 when the slot changed meanwhile.
 */
export const SLOT_TAKE_OVER = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;

/**
 * Accept a finished run's outcome: the first step of a completion, and the only one that must
 * happen exactly once. If the lease still carries this token and worker, store the outcome
 * durably (`<token> <JSON of lease, outcome, acceptedAt>`), mark it pending with its recording
 * claimed (the pending set's score is the time the claim lapses) and delete the lease, all at
 * once. A retry with the same token after that finds the stored outcome instead of a lease.
 * KEYS[1] the lease key; KEYS[2] the outcome key; KEYS[3] the pending-outcomes sorted set.
 * ARGV[1] the lease token; ARGV[2] the worker id; ARGV[3] the experiment id; ARGV[4] the
 * outcome and acceptance time (a JSON object); ARGV[5] now (epoch ms); ARGV[6] the outcome's
 * lifetime (ms); ARGV[7] how long a recording claim holds (ms).
 * Returns {1, lease JSON}: accepted now, the caller records it. {2, stored outcome}: accepted
 * before, not recorded, and the caller now holds the claim. {3, ''}: accepted before and
 * claimed by another call. {4, ''}: accepted and recorded before. {0, lease JSON or ''}: not
 * this lease's to complete.
 */
export const ACCEPT_OUTCOME = `
local v = redis.call('GET', KEYS[1])
local claim = tonumber(ARGV[5]) + tonumber(ARGV[7])
if v then
  local ok, l = pcall(cjson.decode, v)
  if ok and l['token'] == ARGV[1] and l['workerId'] == ARGV[2] then
    redis.call('SET', KEYS[2], ARGV[1] .. ' {"lease":' .. v .. ',' .. string.sub(ARGV[4], 2), 'PX', ARGV[6])
    redis.call('ZADD', KEYS[3], claim, ARGV[3])
    redis.call('DEL', KEYS[1])
    return {1, v}
  end
  return {0, v}
end
local o = redis.call('GET', KEYS[2])
if not o or string.sub(o, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then return {0, ''} end
local s = redis.call('ZSCORE', KEYS[3], ARGV[3])
if not s then return {4, ''} end
if tonumber(s) > tonumber(ARGV[5]) then return {3, ''} end
redis.call('ZADD', KEYS[3], claim, ARGV[3])
return {2, o}`;

/**
 * Claim the recording of a pending outcome whose last claim has lapsed, whatever its token
 * (the reconciliation sweeps).
 * KEYS[1] the outcome key; KEYS[2] the pending-outcomes sorted set. ARGV[1] now (epoch ms);
 * ARGV[2] how long the claim holds (ms); ARGV[3] the experiment id.
 * Returns the stored outcome when claimed; nil when not pending, claimed by another, or
 * expired (then it is no longer pending).
 */
export const CLAIM_OUTCOME = `
local s = redis.call('ZSCORE', KEYS[2], ARGV[3])
if not s or tonumber(s) > tonumber(ARGV[1]) then return false end
local o = redis.call('GET', KEYS[1])
if not o then redis.call('ZREM', KEYS[2], ARGV[3]) return false end
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[3])
return o`;

/**
 * Write a granted lease, unless the experiment already has an accepted outcome (a completion
 * whose job went back to the queue before it was recorded must not run again).
 * KEYS[1] the lease key; KEYS[2] the outcome hash. ARGV[1] the lease record (JSON).
 * Returns 1 when written, 0 when the experiment has an outcome.
 */
export const GRANT_LEASE = `if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end redis.call('SET', KEYS[1], ARGV[1]) return 1`;

/**
 * Take a BullMQ job's lock again after it lapsed while the job is still active (the
 * coordinator was down longer than the lock): the lease it belongs to is still ours.
 * KEYS[1] the job's lock key; KEYS[2] the queue's active list; KEYS[3] its stalled set.
 * ARGV[1] the job id; ARGV[2] the lease token; ARGV[3] the lock's duration (ms).
 * Returns 1 when locked (or already ours), 0 when another holds it or the job is not active.
 */
export const RELOCK_JOB = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[2] then redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1 end
if cur then return 0 end
if not redis.call('LPOS', KEYS[2], ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SREM', KEYS[3], ARGV[1])
return 1`;

/**
 * Make a reported baseline count, once whoever calls.
 * KEYS[1] the set of counted experiment ids of (track, commit, class); KEYS[2] the counted
 * samples; KEYS[3] the class's commits with samples. ARGV[1] the experiment id; ARGV[2] the
 * sample's JSON; ARGV[3] the commit. Returns 1 when this call counted it, 0 otherwise.
 */
export const COUNT_BASELINE = `if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return 1`;
