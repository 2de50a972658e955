-- 0002: engines carry an admin-set `status` (active | draining | disabled). Records written before
-- the field existed are active.
local ids = redis.call('SMEMBERS', prefix .. 'engines')
for _, id in ipairs(ids) do
  local key = prefix .. 'engine:' .. id
  local json = redis.call('GET', key)
  if json then
    local engine = cjson.decode(json)
    if engine['status'] == nil then
      engine['status'] = 'active'
      redis.call('SET', key, cjson.encode(engine))
    end
  end
end
