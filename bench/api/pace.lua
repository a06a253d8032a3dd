-- Paced load for wrk: with RATE=N in the environment, each wrk thread sends its share of N
-- requests/s on a fixed schedule (delay() holds a connection until its slot), so latency is
-- measured at that offered load instead of at saturation. Behind schedule, requests go out at
-- once until it is caught up. Without RATE: no delay (closed loop, as fast as replies come).
-- Load with: dofile(debug.getinfo(1, "S").source:match("@?(.*/)") .. "pace.lua")
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } pace_timespec;
  int clock_gettime(int clk, pace_timespec *ts);
]]
local ts = ffi.new("pace_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("RATE") or "")
local threads = tonumber(os.getenv("WRK_THREADS") or "2")
local interval = rate and rate > 0 and threads / rate * 1000 or nil -- ms between this thread's sends
local next_at = nil

function delay()
  if not interval then return 0 end
  local t = now_ms()
  if not next_at then next_at = t end
  local slot = next_at
  next_at = next_at + interval
  if slot <= t then return 0 end
  return math.floor(slot - t)
end
