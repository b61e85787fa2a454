test("a", function(t) end)
