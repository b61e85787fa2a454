-- An agent killed mid-request makes the VM dead; later ops fail fast.
local vm = provium:vm("d", nil):boot()

test("agent SIGKILLed mid-request", function(t)
  local apid = tonumber(vm:run("echo $PPID").stdout)
  t:assert(apid > 1)
  local e = t:assert_raises(function() vm:run("kill -9 $PPID; sleep 5") end)
  t:assert_contains(e, "vm `d`: VM died during `exec` (agent connection lost: ")
  t:assert_contains(e, "(local agent pid " .. apid .. " killed by signal 9)); create a new one")
  t:assert_eq(vm:state(), "dead")
  t:assert_eq(tostring(vm), "vm(d state=dead cid=" .. vm:cid() .. ")")
end)

test("later ops fail fast", function(t)
  for _, f in ipairs({
    function() vm:run("true") end,
    function() vm:read_file("/etc/hostname") end,
    function() vm:spawn_worker() end,
    function() vm:tail_file("/etc/hostname") end,
    function() vm:batch(function(b) end) end,
  }) do
    local e = t:assert_raises(f)
    t:assert_contains(e, "vm `d`: VM died; create a new one")
  end
  local e = t:assert_raises(function() vm:boot() end)
  t:assert_contains(e, "vm `d`: VM died; create a new one")
  vm:shutdown()
  t:assert_eq(vm:state(), "dead")
end)

test("a new VM works", function(t)
  local v2 = provium:vm("d2", nil):boot()
  t:assert_eq(v2:run("echo ok").stdout, "ok\n")
end)

test("an agent killed while idle shows in state()", function(t)
  local v = provium:vm("idle", nil):boot()
  local apid = tonumber(v:run("echo $PPID").stdout)
  os.execute("kill -9 " .. apid)
  wait_until(function() return v:state() == "dead" end, {timeout = 5, desc = "dead state"})
  local e = t:assert_raises(function() v:run("true") end)
  t:assert_contains(e, "vm `idle`: VM died; create a new one")
end)

test("resources of a dead VM", function(t)
  local v = provium:vm("d3", nil):boot()
  local p = v:run_async("sleep 30")
  local f = v:open_file("/dev/null", {read = true})
  local s = p:stdout_stream()
  local e = t:assert_raises(function() v:run("kill -9 $PPID") end)
  t:assert_contains(e, "vm `d3`: VM died during `exec`")
  e = t:assert_raises(function() p:wait() end)
  t:assert_contains(e, "vm `d3`: VM died; create a new one")
  e = t:assert_raises(function() f:read(1) end)
  t:assert_contains(e, "vm `d3`: VM died; create a new one")
  e = t:assert_raises(function() s:next(1) end)
  t:assert_contains(e, "vm `d3`: VM died; create a new one")
end)
