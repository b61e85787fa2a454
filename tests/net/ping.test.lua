-- Two VMs on one userspace bridge: reachability, partitions, latency.
local lan = provium:bridge("lan", {})
local a = provium:vm("a", "linux")
local b = provium:vm("b", "linux")
lan:attach({ a, b })
a:boot()
b:boot()

local function ping(from, to, n, extra)
  return from:run(("ping -c %d -W 1 %s %s"):format(n, extra or "-i 0.2", to))
end

-- busybox ping summary: "round-trip min/avg/max = 1.1/2.2/3.3 ms"
local function avg_rtt(r)
  return tonumber(r.stdout:match("min/avg/max = [%d.]+/([%d.]+)/"))
end

test("addresses and members", function(t)
  t:assert_eq(a:nic(lan):ip(), "10.77.1.1")
  t:assert_eq(b:nic("lan"):ip(), "10.77.1.2")
  t:assert_eq(table.concat(lan:members(), ","), "a,b")
  t:assert_eq(lan:nic(a):mac(), a:nic(lan):mac())
end)

test("two VMs ping each other", function(t)
  ping(a, b:nic(lan):ip(), 3):assert_ok()
  ping(b, a:nic(lan):ip(), 3):assert_ok()
  local c = a:nic(lan):counters()
  t:assert(c.tx_packets >= 3)
  t:assert(c.rx_packets >= 3)
end)

test("partition stops traffic both ways; unpartition restores", function(t)
  lan:partition(a, b)
  t:assert(lan:is_partitioned("a", "b"))
  t:assert(not ping(a, b:nic(lan):ip(), 2):ok())
  t:assert(not ping(b, a:nic(lan):ip(), 2):ok())
  lan:unpartition(a, b)
  t:assert(not lan:is_partitioned(a, b))
  ping(a, b:nic(lan):ip(), 2):assert_ok()
end)

test("directional partition: requests go, replies do not", function(t)
  lan:partition({ from = b, to = a })
  t:assert(lan:is_partitioned({ from = b, to = a }))
  t:assert(not lan:is_partitioned({ from = a, to = b }))
  t:assert(not ping(a, b:nic(lan):ip(), 2):ok())
  local before = b:nic(lan):counters().rx_packets
  ping(a, b:nic(lan):ip(), 2)
  t:assert(b:nic(lan):counters().rx_packets >= before + 2)  -- echo requests arrive
  lan:unpartition({ from = b, to = a })
  ping(a, b:nic(lan):ip(), 2):assert_ok()
end)

test("100 ms one-way latency shows in ping RTT", function(t)
  local base = avg_rtt(ping(a, b:nic(lan):ip(), 5))
  lan:add_latency({ from = a, to = b, ms = 100 })
  t:assert_eq(lan:latency_ms(), 0)
  local r = ping(a, b:nic(lan):ip(), 5)
  r:assert_ok()
  local rtt = avg_rtt(r)
  print(("rtt: base %.1f ms, with 100 ms latency %.1f ms"):format(base, rtt))
  -- Latency applied in both directions would give >= 200 ms; the slack
  -- scales with the measured base so a loaded TCG host does not flake.
  t:assert(rtt >= 100 and rtt <= 140 + 2 * base, "rtt " .. rtt)
  lan:reset()
end)

test("bridge-wide latency delays both directions", function(t)
  local base = avg_rtt(ping(a, b:nic(lan):ip(), 5))
  lan:add_latency(50)
  t:assert_eq(lan:latency_ms(), 50)
  local r = ping(a, b:nic(lan):ip(), 5)
  r:assert_ok()
  local rtt = avg_rtt(r)
  print(("rtt: base %.1f ms, with 50 ms bridge-wide latency %.1f ms"):format(base, rtt))
  -- one direction only would give ~50 ms, twice per direction ~200 ms
  t:assert(rtt >= 100 and rtt <= 140 + 2 * base, "rtt " .. rtt)
  lan:reset()
  t:assert_eq(lan:latency_ms(), 0)
end)
