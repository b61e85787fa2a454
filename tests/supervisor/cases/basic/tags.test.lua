test("net", {tags = {"net", "fast"}}, function(t) end)
test("disk", {tags = "disk"}, function(t) end)
test("plain", function(t) end)
