-- tests/cluster/poll.lua — wrk script: a client polling task status with ETags, the way a page
-- follows its tasks. Each thread (one connection each: -c equal to -t) cycles through the
-- task ids given after `--` and sends If-None-Match with the newest version it has seen of
-- each, so that taskq-fcgi may read from the replica only when the replica is that new.
local ids, etags, i, cur = {}, {}, 0, nil

function init(args)
   for _, a in ipairs(args) do ids[#ids + 1] = a end
   i = math.random(#ids)
end

function request()
   i = i % #ids + 1
   cur = ids[i]
   local h = {}
   if etags[cur] then h["If-None-Match"] = etags[cur] end
   return wrk.format("GET", "/api/tasks/" .. cur, h)
end

function response(status, headers, body)
   local e = headers["ETag"] or headers["etag"]
   if e and cur then etags[cur] = e end
end
