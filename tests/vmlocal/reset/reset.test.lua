-- Lab snapshots need a real VM: under --vmm local asking for them must
-- fail loudly, not silently skip the reset.
provium.reset_between_tests = true
test("refused", function(t) end)
