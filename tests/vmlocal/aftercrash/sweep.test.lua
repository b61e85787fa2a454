-- Booting again in the same TMPDIR removes the scratch dir a crashed
-- runner could not.
test("boot sweeps stale scratch dirs", function(t)
  local vm = provium:vm("s", nil):boot()
  t:assert_eq(vm:run("echo ok").stdout, "ok\n")
end)
