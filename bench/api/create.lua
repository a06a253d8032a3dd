-- POST a new object per request: unique names per wrk thread.
dofile(debug.getinfo(1, "S").source:match("@?(.*/)") .. "pace.lua") -- RATE=N: paced
-- args: kind (pod|configmap) prefix
local tid = 0
function setup(thread)
  thread:set("id", tid)
  tid = tid + 1
end

-- wrk.format replaces the -H headers with the ones given: keep them (Authorization)
function hdr(ct)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["Content-Type"] = ct
  return h
end

function init(args)
  kind = args[1] or "configmap"
  prefix = args[2] or "b"
  n = 0
end

function request()
  n = n + 1
  local name = string.format("%s-%d-%d", prefix, id, n)
  local body
  if kind == "pod" then
    body = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"' .. name ..
      '","labels":{"app":"bench"}},"spec":{"containers":[{"name":"c","image":"busybox:1.36"}]}}'
  else
    body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"' .. name ..
      '","labels":{"app":"bench"}},"data":{"k":"v"}}'
  end
  return wrk.format("POST", nil, hdr("application/json"), body)
end

function response(status, headers, body)
  if status ~= 201 and not reported then
    reported = true
    print("unexpected status " .. status .. ": " .. string.sub(body, 1, 200))
  end
end
