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
 * Make a reported baseline count, once whoever calls.
 * KEYS[1] the set of counted experiment ids of (track, commit, class); KEYS[2] the counted
 * samples; KEYS[3] the class's commits with samples. ARGV[1] the experiment id; ARGV[2] the
 * sample's JSON; ARGV[3] the commit. Returns 1 when this call counted it, 0 otherwise.
 */
export const COUNT_BASELINE = `if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return 1`;
