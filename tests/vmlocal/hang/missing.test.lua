-- Run with PROVIUM_AGENT pointing at a file that does not exist.
test("no agent", function(t)
  local e = t:assert_raises(function() provium:vm("m", nil):boot() end)
  t:assert_contains(e, "vm `m`: boot failed: vmm local: $PROVIUM_AGENT=/nonexistent/provium-agent is not executable: No such file or directory")
end)

test("lab boot is all or nothing", function(t)
  provium:vm("x1", nil)
  provium:vm("x2", nil)
  local e = t:assert_raises(function() provium:boot() end)
  t:assert_contains(e, "batch `boot` failed: {vm `x1`: boot failed: vmm local: $PROVIUM_AGENT=/nonexistent/provium-agent is not executable: No such file or directory; vm `x2`: boot failed: ")
  t:assert_eq(provium.x1:state(), "created")
  t:assert_eq(provium.x2:state(), "created")
end)
