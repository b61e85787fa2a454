-- Run with PROVIUM_AGENT pointing at a file that does not exist.
test("no agent", function(t)
  local e = t:assert_raises(function() provium:vm("m", nil):boot() end)
  t:assert_contains(e, "vm `m`: boot failed: vmm local: $PROVIUM_AGENT=/nonexistent/provium-agent is not executable: No such file or directory")
end)
