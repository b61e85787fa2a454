-- A failing test carries the last bytes of the guest console.
local vm = provium:vm("talker", "linux"):boot()

test("fails and shows the console", function(t)
  vm:run("echo 'marker-from-the-guest-console' > /dev/console")
  t:fail("on purpose")
end)
