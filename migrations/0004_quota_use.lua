-- 0004: quota use is kept per owner (`quota_used:user:<name>`, `quota_used:team:<name>`) by the
-- claim and release scripts. Claims made before that are counted here, once, from the claims
-- that exist; the fields are set, not added to, so a second run changes nothing.
local totals = {}
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'engines')) do
  for _, op in ipairs(redis.call('SMEMBERS', prefix .. 'engine:' .. id .. ':claims')) do
    local c = redis.call('HMGET', prefix .. 'claim:' .. op, 'owner', 'cpus_milli', 'memory', 'ports')
    if c[1] then
      local owner = c[1]
      if string.sub(owner, 1, 5) ~= 'team:' then owner = 'user:' .. owner end
      local t = totals[owner] or {cpus_milli = 0, memory = 0, containers = 0, published_ports = 0}
      t.cpus_milli = t.cpus_milli + (tonumber(c[2]) or 0)
      t.memory = t.memory + (tonumber(c[3]) or 0)
      t.containers = t.containers + 1
      for _ in string.gmatch(c[4] or '', '%S+') do t.published_ports = t.published_ports + 1 end
      totals[owner] = t
    end
  end
end
for owner, t in pairs(totals) do
  redis.call('HSET', prefix .. 'quota_used:' .. owner,
    'cpus_milli', string.format('%d', t.cpus_milli), 'memory', string.format('%d', t.memory),
    'containers', t.containers, 'published_ports', t.published_ports)
end
