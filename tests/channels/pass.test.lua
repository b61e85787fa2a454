test("one", { spec = "1.2" }, function(t) t:assert(true) end)
test("two", { spec = "1.3" }, function(t) t:assert_eq(1, 2) end)
