-- PUT (unconditional update) or merge PATCH over a set of existing configmaps.
dofile(debug.getinfo(1, "S").source:match("@?(.*/)") .. "pace.lua") -- RATE=N: paced
-- args: mode (put|patch) count prefix
-- wrk.format replaces the -H headers with the ones given: keep them (Authorization)
function hdr(ct)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["Content-Type"] = ct
  return h
end

local tid = 0
function setup(thread)
  thread:set("id", tid)
  tid = tid + 1
end

function init(args)
  mode = args[1] or "put"
  count = tonumber(args[2] or "1000")
  prefix = args[3] or "u"
  n = 0
end

function request()
  n = n + 1
  -- the threads start half the set apart (not all on one key at once), and write values of
  -- their own (a value another thread just wrote would be a no-op update)
  local name = string.format("%s-%d", prefix, (n + id * math.floor(count / 2)) % count)
  local path = "/api/v1/namespaces/default/configmaps/" .. name
  if mode == "patch" then
    return wrk.format("PATCH", path, hdr("application/merge-patch+json"),
      '{"data":{"n":"' .. id .. "-" .. n .. '"}}')
  end
  return wrk.format("PUT", path, hdr("application/json"),
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"' .. name .. '","namespace":"default"},"data":{"n":"' .. id .. "-" .. n .. '"}}')
end

function response(status, headers, body)
  if status ~= 200 and not reported then
    reported = true
    print("unexpected status " .. status .. ": " .. string.sub(body, 1, 200))
  end
end
