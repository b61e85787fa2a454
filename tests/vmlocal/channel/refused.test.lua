-- Run under tests/tools/fake_supervisor --reserve-err: the refusal's exact
-- wording, and nothing spawned or released.
local vm = provium:vm("r", nil, {memory = "1G", cpus = 2})
test("refused", function(t)
  local e = t:assert_raises(function() vm:boot() end)
  t:assert_eq((e:gsub("^.-:%d+: ", "")), "vm `r`: boot refused: exceeds pool total")
  t:assert_eq(vm:state(), "created")
end)
