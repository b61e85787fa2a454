-- The runner dies with a booted VM and a running guest process: the
-- supervisor must pair vm_spawned with vm_shutdown, and nothing may leak.
local vm = provium:vm("c", nil):boot()
test("runner dies", function(t)
  vm:run_async("sleep 300")
  local w = vm:spawn_worker()
  w:run_async("sleep 300")
  os.exit(7)
end)
