-- The bridge API without booting anything: lookups, validation, state.
local lan = provium:bridge("lan", { seed = 7, subnet = "10.5.6.0/24" })
local a = provium:vm("a", "linux")
local b = provium:vm("b", "linux")
local c = provium:vm("c", "linux")

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error")
  return (tostring(e):gsub("^[^:]+:%d+: ", ""))
end

test("lookup, names, seed, subnet", function(t)
  t:assert_eq(provium:bridge("lan"), lan)
  t:assert_eq(provium.lan, lan)
  t:assert_eq(provium.a, a)            -- VMs still come first
  t:assert_eq(lan:name(), "lan")
  t:assert_eq(lan:seed(), 7)
  t:assert_eq(lan:subnet(), "10.5.6.0/24")
  t:assert_eq(tostring(lan), "bridge(lan members=0)")
  local env = os.getenv("PROVIUM_SEED")   -- run.sh passes --seed 99
  if env then t:assert_eq(provium:bridge("s2", {}):seed(), tonumber(env)) end
  t:assert_eq(err_of(provium.bridge, provium, "nope"),
    "no bridge named `nope` in this lab")
  t:assert_eq(err_of(provium.bridge, provium, "lan", {}),
    "bridge name `lan` already declared at a parent scope")
  t:assert_eq(err_of(provium.bridge, provium, "x", { speed = 1 }),
    "bridge `x`: unknown option `speed` (known: seed, subnet)")
  t:assert_eq(err_of(provium.bridge, provium, "y", { subnet = "10.0.0.0/16" }),
    "bridge `y`: subnet must look like \"10.1.2.0/24\" (only /24)")
end)

test("attach is all-or-nothing", function(t)
  t:assert_eq(err_of(lan.attach, lan, a, "ghost"), "no vm named `ghost` in this lab")
  t:assert_eq(#lan:members(), 0)
  lan:attach(a, { "b" })
  t:assert_eq(table.concat(lan:members(), ","), "a,b")
  t:assert_eq(err_of(lan.attach, lan, c, a),
    "bridge `lan`: attach: vm `a` is already attached")
  t:assert_eq(#lan:members(), 2)
  t:assert_eq(a:nic(lan):ip(), "10.5.6.1")
  t:assert_eq(b:nic("lan"):ip(), "10.5.6.2")
  t:assert_eq(a:nic(lan):vm_name(), "a")
  t:assert_eq(a:nic(lan):bridge(), lan)
  t:assert(a:nic(lan):mac():match("^52:54:00:%x%x:%x%x:%x%x$"))
  t:assert(a:nic(lan):mac() ~= b:nic(lan):mac())
  t:assert_eq(err_of(c.nic, c, lan), "bridge `lan`: vm `c` is not attached")
  lan:detach(b)
  t:assert_eq(table.concat(lan:members(), ","), "a")
  lan:attach(b)
  t:assert_eq(table.concat(lan:members(), ","), "a,b")
  t:assert_eq(b:nic(lan):ip(), "10.5.6.2")   -- same port, same address
end)

test("a test-scope VM takes a port", function(t)
  local p = provium:vm("p", "linux")
  lan:attach(p)
  t:assert_eq(p:nic(lan):ip(), "10.5.6.3")
end)

test("... that a VM of the same name in a later test takes over", function(t)
  local p = provium:vm("p", "linux")
  lan:attach("p")
  t:assert_eq(p:nic(lan):ip(), "10.5.6.3")
  t:assert_eq(table.concat(lan:members(), ","), "a,b,p")
  t:assert_eq(provium:vm("a"):state(), "created")
  t:assert_eq(select(2, pcall(lan.attach, lan, "a")):gsub("^[^:]+:%d+: ", ""),
    "bridge `lan`: attach: vm `a` is already attached")
  lan:detach(p)
end)

test("partitions, isolation and impairments are state", function(t)
  lan:partition("a", "zed")                   -- bare names are fine
  t:assert(lan:is_partitioned("zed", "a"))
  lan:unpartition("zed", "a")
  t:assert(not lan:is_partitioned("a", "zed"))
  t:assert_eq(err_of(lan.partition, lan, { from = a, to = c }),
    "bridge `lan`: partition: vm `c` is not attached")
  lan:partition({ from = a, to = b })
  t:assert(lan:is_partitioned(a, b))
  t:assert(not lan:is_partitioned({ from = b, to = a }))
  lan:partition_all()
  t:assert(lan:is_partitioned({ from = b, to = a }))
  lan:restore_all()                           -- undoes partition_all only
  t:assert(not lan:is_partitioned({ from = b, to = a }))
  t:assert(lan:is_partitioned({ from = a, to = b }))
  lan:isolate(b)
  lan:add_latency(25)
  lan:drop_rate(12.5)
  lan:bandwidth_limit(1000000)
  t:assert_eq(lan:latency_ms(), 25)
  t:assert_eq(lan:drop_rate_pct(), 12.5)
  t:assert_eq(lan:bandwidth_bps(), 1000000)
  t:assert_eq(err_of(lan.add_latency, lan, -1),
    "bridge `lan`: add_latency: the value must be a number >= 0")
  t:assert_eq(err_of(lan.add_directional_latency, lan, 5),
    "bridge `lan`: add_directional_latency{from=, to=, ms=}: a table is required")
  lan:reset()
  t:assert_eq(lan:latency_ms(), 0)
  t:assert_eq(lan:drop_rate_pct(), 0)
  t:assert_eq(lan:bandwidth_bps(), 0)
  t:assert(not lan:is_partitioned(a, b))
  t:assert(lan:is_isolated(b))                -- reset keeps isolation
  lan:unisolate(b)
  t:assert(not lan:is_isolated(b))
end)

test("a test-scope bridge closes at the end of its test", function(t)
  local tb = provium:bridge("scoped", {})
  t:assert_eq(provium:bridge("scoped"), tb)
  _G.leaked_bridge = tb
end)

test("... and is unusable after", function(t)
  t:assert_eq(err_of(leaked_bridge.members, leaked_bridge),
    "bridge `scoped` is closed")
  t:assert_eq(tostring(leaked_bridge), "bridge(scoped members=0 closed)")
end)
