-- This test fails on purpose, to show what a failure looks like: the
-- reason, and the last 4 KiB of the guest's console, which is often what
-- you need when something went wrong in the kernel.
local vm = provium:vm("broken", "linux"):boot()

test("a deliberate failure shows the guest console", { spec = "demo.failure" }, function(t)
  vm:run("echo 'provium demo: this line is on the guest console' > /dev/console")
  t:assert_eq(vm:run("uname -s").stdout, "Plan9\n", "deliberate failure")
end)
