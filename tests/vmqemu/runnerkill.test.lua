-- The runner is SIGKILLed while its VM runs: QEMU must die with it.
local vm = provium:vm("orphan", "linux"):boot()

test("the runner dies under a booted VM", function(t)
  vm:run("true")
  os.execute("kill -KILL $PPID")
end)
