local name = "dyn"
local v = vm_fixture(name)
test("x", function(t) end)
