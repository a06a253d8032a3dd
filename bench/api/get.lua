-- GET (or LIST) the URL given to wrk, paced by RATE when set (pace.lua).
dofile(debug.getinfo(1, "S").source:match("@?(.*/)") .. "pace.lua")
