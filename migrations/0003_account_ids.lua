-- 0003: every account has an `id` that no later account ever shares, even one of the same name
-- (login tokens carry it, so a deleted user's tokens cannot come back with a new account of that
-- name). Ids come from a counter that only grows; accounts made before the field existed get
-- theirs here. API tokens record their owner's id (`owner_id`) the same way.
local names = redis.call('SMEMBERS', prefix .. 'users')
for _, name in ipairs(names) do
  local key = prefix .. 'user:' .. name
  if redis.call('HEXISTS', key, 'id') == 0 and redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'id', tostring(redis.call('INCR', prefix .. 'users:next_id')))
  end
end
local tokens = redis.call('SMEMBERS', prefix .. 'tokens')
for _, id in ipairs(tokens) do
  local key = prefix .. 'token:' .. id
  local owner = redis.call('HGET', key, 'owner')
  if owner and redis.call('HEXISTS', key, 'owner_id') == 0 then
    local uid = redis.call('HGET', prefix .. 'user:' .. owner, 'id')
    if uid then redis.call('HSET', key, 'owner_id', uid) end
  end
end
