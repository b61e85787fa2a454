-- Holds a VM while the supervisor gets Ctrl-C.
local vm = provium:vm("sleepy", "linux"):boot()

test("sleeps in the guest", function(t)
  vm:write_file("/tmp/ready", "")
  io.open(os.getenv("TMPDIR") .. "/sleeper-ready", "w"):close()
  vm:run("sleep 60")
end)
