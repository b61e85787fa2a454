test("good", function(t) t:assert(true) end)
test("bad", function(t) t:assert_eq(1, 2) end)
test("multi", function(t) t:fail("line one\nline two") end)
