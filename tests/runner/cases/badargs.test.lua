test("ok", function(t) end)
test("no function")
