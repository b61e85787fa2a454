-- Running commands inside a real Linux VM.
--
-- A file-scope VM is booted once and shared by every test in this file;
-- provium shuts it down when the file ends.
local vm = provium:vm("box", "linux"):boot()

test("shell form runs through sh -c", { spec = "run.shell" }, function(t)
  local r = vm:run("echo hello from $(uname -s)")
  r:assert_ok()
  t:assert_eq(r.stdout, "hello from Linux\n")
end)

test("argv form execs directly, no shell", { spec = "run.argv" }, function(t)
  local r = vm:run("printf", { "%s-%s", "a", "b" })
  t:assert_eq(r.stdout, "a-b")
  t:assert_eq(r.exit_code, 0)
end)

test("options: env, cwd, stdin and a timeout", { spec = "run.opts" }, function(t)
  local r = vm:run("cat; echo $GREETING; pwd", {
    env = { GREETING = "hi" }, cwd = "/tmp", stdin = "from stdin\n",
  })
  t:assert_eq(r.stdout, "from stdin\nhi\n/tmp\n")

  local slow = vm:run("sleep 5", { timeout = "300ms" })
  t:assert_eq(slow.status, "timed_out")
  t:assert(not slow:ok())
end)

test("exit codes come back as data", { spec = "run.status" }, function(t)
  local r = vm:run("exit 3")
  t:assert_eq(r.status, "exited")
  t:assert_eq(r.exit_code, 3)
  t:assert_raises(function() r:assert_ok() end)
end)
