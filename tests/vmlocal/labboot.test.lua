-- lab:boot() / lab:shutdown(): every VM of the lab at once.
local a = provium:vm("a", nil)
local b = provium:vm("b", nil, {memory = "128M"})

test("boot the file lab", function(t)
  t:assert_eq(provium.a, a)
  -- inside a test `provium` is the scope lab: its own VMs only
  local c = provium:vm("c", nil)
  t:assert_eq(provium:boot(), provium)
  t:assert_eq(c:state(), "booted")
  t:assert_eq(a:state(), "created")
  provium:shutdown()
  t:assert_eq(c:state(), "shutdown")
end)

test("root lab", function(t)
  local root = _G.root_lab
  t:assert_eq(root:boot(), root)
  t:assert_eq(a:state(), "booted")
  t:assert_eq(b:state(), "booted")
  t:assert_eq(root:boot(), root)   -- idempotent
  t:assert(a:cid() ~= b:cid())
  root:shutdown()
  t:assert_eq(a:state(), "shutdown")
  t:assert_eq(b:state(), "shutdown")
end)

_G.root_lab = provium
