test("forever", {timeout = "300ms"}, function(t) while true do end end)
test("next", function(t) end)
