-- Holds one VM, then wants a second, while hold_b does the same: on a
-- 2-CPU pool nobody can ever go on.  Exactly one of the two second boots
-- must fail at once with the deadlock verdict; the other then proceeds.
local dir = os.getenv("ADMISSION_DIR")
test("hold and wait", function(t)
  local one = provium:vm("one", "local"):boot()
  io.open(dir .. "/" .. "b.ready", "w"):close()
  wait_until(function()
    local f = io.open(dir .. "/a.ready"); if f then f:close(); return true end
  end, { timeout = 20 })
  local ok, err = pcall(function() provium:vm("two", "local"):boot() end)
  io.open(dir .. "/b." .. (ok and "booted" or "refused"), "w"):write(tostring(err)):close()
  if not ok then one:shutdown() end
end)
