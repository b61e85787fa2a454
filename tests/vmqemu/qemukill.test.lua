-- QEMU killed under a test: the VM is dead, the error says so at once,
-- and the next test still runs.
local vm = provium:vm("victim", "linux"):boot()

local function qemu_pids(cid)
  -- QEMU runs in its scratch directory vm-<cid> and is this runner's child
  -- (the shell's $PPID): cids repeat across runs, so another run's QEMU
  -- on the same host must not match.
  local h = io.popen("for p in /proc/[0-9]*; do case $(readlink $p/cwd 2>/dev/null) in */vm-" ..
    cid .. ") [ \"$(cut -d' ' -f4 $p/stat)\" = \"$PPID\" ] && echo ${p#/proc/};; esac; done")
  local s = h:read("a"); h:close()
  return s
end

test("SIGKILL of QEMU makes the VM dead", function(t)
  local pids = qemu_pids(vm:cid())
  t:assert(pids ~= "", "no QEMU found for cid " .. vm:cid())
  os.execute("kill -KILL " .. pids)
  local ok, err = pcall(function() return vm:run("true") end)
  t:assert(not ok)
  t:assert_eq(vm:state(), "dead")
  local ok2, err2 = pcall(function() return vm:run("true") end)
  t:assert(not ok2)
  t:assert_contains(tostring(err2), "VM died; create a new one")
end)

test("the next test still runs", function(t)
  t:assert_eq(1 + 1, 2)
end)
