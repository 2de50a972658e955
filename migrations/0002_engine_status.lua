-- 0002: engines carry an admin-set `status` (active | draining | disabled). Records written before
-- the field existed are active. The field is spliced into the JSON text rather than re-encoded,
-- because Lua's cjson would turn empty arrays (`"labels":[]`) into objects.
local ids = redis.call('SMEMBERS', prefix .. 'engines')
for _, id in ipairs(ids) do
  local key = prefix .. 'engine:' .. id
  local json = redis.call('GET', key)
  if json and cjson.decode(json)['status'] == nil then
    local body = string.match(json, '^%s*(.-)%s*}%s*$')
    redis.call('SET', key, body .. ',"status":"active"}')
  end
end
