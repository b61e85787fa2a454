test("b", function(t) t:fail("nope") end)
