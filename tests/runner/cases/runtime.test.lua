test("never", function(t) end)
local function helper()
	error("setup failed")
end
helper()
