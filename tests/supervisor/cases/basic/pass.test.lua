test("adds", function(t) t:assert_eq(1 + 1, 2) end)
test("logs", function(t) t:log("hello from logs") end)
