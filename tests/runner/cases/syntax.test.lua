test("never", function(t) end)

local x = = 1
