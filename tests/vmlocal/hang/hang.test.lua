-- Run with PROVIUM_AGENT pointing at something that never answers hello.
test("agent_timeout", function(t)
  local e = t:assert_raises(function() provium:vm("h", nil):boot({agent_timeout = 0.3}) end)
  t:assert_contains(e, "vm `h`: the agent did not answer hello: timed out waiting for the agent's answer to `hello` (local agent pid ")
  t:assert_contains(e, " still running)")
  t:assert_eq(provium.h:state(), "created")
end)

test("the test's timeout cuts a boot short", {timeout = 0.3}, function(t)
  provium:vm("h2", nil):boot()
end)
