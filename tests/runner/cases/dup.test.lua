test("a", function(t) end)
test("a", function(t) end)
