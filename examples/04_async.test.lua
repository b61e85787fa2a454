-- Long-running processes, their output streams, and following a log file.
local vm = provium:vm("svc", "linux"):boot()

test("a background process streams its output", { spec = "async.streams" }, function(t)
  local p = vm:run_async("for i in 1 2 3; do echo tick $i; sleep 0.1; done")
  local out = p:stdout_stream()
  out:expect("tick 2")
  local r = p:wait("10s")
  r:assert_ok()
end)

test("tail a file as it grows", { spec = "async.tail" }, function(t)
  vm:write_file("/tmp/app.log", "old line\n")
  local log = vm:tail_file("/tmp/app.log")   -- starts at the end
  vm:run("echo ready >> /tmp/app.log")
  t:assert_eq(log:read_until("ready"), "ready")
end)

test("signals reach the process", { spec = "async.signals" }, function(t)
  local p = vm:run_async("sleep 60")
  t:assert_eq(p:status(), "running")
  p:kill("term")
  local r = p:wait("10s")
  t:assert_eq(r.status, "signalled")
end)
