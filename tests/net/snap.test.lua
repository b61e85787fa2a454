-- A VM with a NIC restored from its snapshot reconnects to the switch;
-- a partition set on the bridge still holds after the restore.
local lan = provium:bridge("lan", {})
local a = provium:vm("a", "linux")
local b = provium:vm("b", "linux")
lan:attach({ a, b })
a:boot()
b:boot()

local function ping(from, to, n)
  return from:run(("ping -c %d -W 1 -i 0.2 %s"):format(n, to))
end

test("a restored VM is back on the bridge", function(t)
  ping(a, b:nic(lan):ip(), 2):assert_ok()
  local snap = a:snapshot()
  a:restore(snap)
  t:assert_eq(a:state(), "booted")
  ping(a, b:nic(lan):ip(), 3):assert_ok()
  ping(b, a:nic(lan):ip(), 3):assert_ok()
end)

test("a partition holds across a restore", function(t)
  lan:partition(a, b)
  local snap = a:snapshot()
  a:restore(snap)
  t:assert(not ping(a, b:nic(lan):ip(), 2):ok())
  lan:unpartition(a, b)
  ping(a, b:nic(lan):ip(), 2):assert_ok()
end)
