-- Run under tests/tools/fake_supervisor: the exact report sequence of a
-- test-scope and a file-scope VM.
local f = provium:vm("f", "p1", {memory = "256M", cpus = 2})
test("scoped", function(t)
  provium:vm("v", nil):boot():run("true")
  f:boot()
end)
test("after", function(t)
  t:assert_eq(f:state(), "booted")
end)
