-- A NUL byte in a test name is refused (it used to be cut at the NUL).
test("ok", function(t) end)
test("a\0b", function(t) end)
