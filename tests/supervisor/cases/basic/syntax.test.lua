test("never", function(t) end)
this is not lua
