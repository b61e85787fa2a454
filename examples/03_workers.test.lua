-- Workers are sub-agents: separate processes in the same guest, so a test
-- can have two threads of control.
test("two concurrent writers don't tear", { spec = "workers" }, function(t)
  local vm = provium:vm("v", "linux"):boot()
  local w1 = vm:spawn_worker()
  local w2 = vm:spawn_worker()

  local p1 = w1:run_async("dd", { args = { "if=/dev/urandom", "of=/tmp/a", "bs=1M", "count=8" } })
  local p2 = w2:run_async("dd", { args = { "if=/dev/urandom", "of=/tmp/b", "bs=1M", "count=8" } })
  p1:wait("30s"):assert_ok()
  p2:wait("30s"):assert_ok()
  t:assert_eq(vm:stat("/tmp/a").size, 8 * 1024 * 1024)
  t:assert_eq(vm:stat("/tmp/b").size, 8 * 1024 * 1024)
  t:assert_neq(w1:syscall(39).ret, w2:syscall(39).ret)
end)
