-- A per-test timeout interrupts a blocking VM call and, as upstream,
-- shuts the whole file lab down.
local vm = provium:vm("t", nil):boot()

test("blocked in vm:run", {timeout = 0.5}, function(t)
  vm:run("sleep 10")
end)

test("blocked in stream:next", {timeout = "300ms"}, function(t)
  local v = provium:vm("t2", nil):boot()
  local p = v:run_async("sleep 10")
  p:stdout_stream():next()
end)

test("file lab was shut down", function(t)
  t:assert_eq(vm:state(), "shutdown")
end)
