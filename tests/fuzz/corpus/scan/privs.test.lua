-- The runner holds no capability and neither does anything it spawns
-- (runner/privs.c).  The bounding set can only be emptied by a process
-- that had CAP_SETPCAP, so it is asserted empty when running as root.
local function caps(text)
  local c = {}
  for k, v in text:gmatch("(%w+):%s*(%x+)\n") do c[k] = v end
  return c
end

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

local function check(c, who)
  for _, k in ipairs({ "CapInh", "CapPrm", "CapEff", "CapAmb" }) do
    assert(tonumber(c[k], 16) == 0, who .. " " .. k .. " = " .. tostring(c[k]))
  end
  assert(c.NoNewPrivs == "1", who .. " NoNewPrivs = " .. tostring(c.NoNewPrivs))
  local uid = c.Uid and tonumber(c.Uid) or read("/proc/self/status"):match("Uid:%s*(%d+)")
  if tonumber(uid) == 0 then
    assert(tonumber(c.CapBnd, 16) == 0, who .. " CapBnd = " .. c.CapBnd)
  end
end

test("runner holds no capability", function(t)
  check(caps(read("/proc/self/status")), "runner")
end)

test("a child shell cannot regain any", function(t)
  -- sh's parent is the runner: its status is read from outside too.
  local p = assert(io.popen("cat /proc/self/status; echo PARENT; cat /proc/$PPID/status"))
  local out = p:read("a")
  p:close()
  local child, parent = out:match("^(.*)PARENT\n(.*)$")
  check(caps(child), "child")
  check(caps(parent), "runner (read by its child)")
end)
