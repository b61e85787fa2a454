-- Lab snapshots are not implemented: asking for them must fail loudly.
provium.reset_between_tests = true
test("refused", function(t) end)
