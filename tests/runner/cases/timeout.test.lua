-- Per-test timeouts stop runaway Lua and the next tests still run.
provium.timeout = "300ms"
local co = coroutine.create(function() while true do end end)
local spin = coroutine.wrap(function() while true do end end)

test("file default stops a loop", function(t)
	t:log("looping")
	while true do end
end)
test("meta wins over the file default", {timeout = 0.1}, function(t)
	while true do end
end)
test("pcall cannot swallow it", {timeout = "100ms"}, function(t)
	while true do
		pcall(function() while true do end end)
	end
end)
test("coroutine made in the test", {timeout = "100ms"}, function(t)
	coroutine.wrap(function() while true do end end)()
end)
test("coroutine made at file scope", {timeout = "100ms"}, function(t)
	local ok, err = coroutine.resume(co)
	t:log(tostring(ok) .. ": " .. err)
end)
test("wrapped coroutine made at file scope", {timeout = "100ms"}, function(t)
	spin()
end)
test("wait_until honours it", {timeout = "150ms"}, function(t)
	wait_until(function() return false end, {timeout = 10, interval = 0.05})
end)
test("next test runs", function(t) t:log("ran") end)
test("fast test with a timeout passes", {timeout = "5s"}, function(t) end)
test("zero disables", {timeout = 0}, function(t) for i = 1, 1000 do end end)
test("bad meta.timeout", {timeout = "5 parsecs"}, function(t) end)
test("negative meta.timeout", {timeout = -1}, function(t) end)
