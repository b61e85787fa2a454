-- Files inside the guest: whole-file helpers, metadata and handles.
local vm = provium:vm("files", "linux"):boot()

test("write_file then read_file", { spec = "files.whole" }, function(t)
  vm:write_file("/tmp/greeting", "hello\n")
  t:assert_eq(vm:read_file("/tmp/greeting"), "hello\n")
  t:assert_eq(vm:stat("/tmp/greeting").size, 6)
  t:assert_eq(vm:stat("/tmp").entry_type, "directory")
end)

test("directories: mkdir, listdir, rename, unlink", { spec = "files.dirs" }, function(t)
  vm:mkdir("/tmp/a/b/c", { parents = true })
  vm:write_file("/tmp/a/b/c/x", "x")
  vm:rename("/tmp/a/b/c/x", "/tmp/a/b/c/y")
  local names = {}
  for _, e in ipairs(vm:listdir("/tmp/a/b/c")) do names[#names + 1] = e.name end
  t:assert_eq(table.concat(names, ","), "y")
  vm:unlink("/tmp/a/b/c/y")
  t:assert_eq(#vm:listdir("/tmp/a/b/c"), 0)
end)

test("file handles seek and read", { spec = "files.handles" }, function(t)
  local f = vm:open_file("/tmp/h", { write = true, read = true, create = true, truncate = true })
  f:write("0123456789")
  f:seek(4, "set")
  t:assert_eq(f:read(3), "456")
  f:close()  -- optional: handles opened in a test close when it ends
end)

test("the guest's kernel talks back through a raw syscall", { spec = "syscall" }, function(t)
  local r = vm:syscall(39)  -- getpid: the agent's pid inside the guest
  t:assert(r.ret > 0)
  t:assert_eq(r.errno, 0)
end)
