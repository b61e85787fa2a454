test("declared", {skip = "not today"}, function(t) end)
test("inline", function(t) t:skip("later") end)
test("slow", {slow = true}, function(t) end)
