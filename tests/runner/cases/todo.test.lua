todo("not written yet")
test("one", function(t) t:fail("ran") end)
test("two", {tags = {"x"}}, function(t) t:fail("ran") end)
