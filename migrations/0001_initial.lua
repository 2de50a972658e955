-- 0001: the first schema. Users, grants, engines and health start empty, so there is nothing to
-- transform; record when this database was first given a schema.
redis.call('SET', prefix .. 'schema:created_ms', now_ms, 'NX')
