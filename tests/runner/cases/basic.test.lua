-- Pass, fail, log, t.name, t.meta and the assertions' exact messages.
test("passes", function(t)
	t:assert(true)
	t:assert_eq(2, 1 + 1)
	t:assert_neq("a", "b")
	t:assert_contains("hello world", "o w")
	t:log("name=" .. t.name)
	t:log(42)
end)

test("meta is the table given", {owner = "me", n = 3}, function(t)
	t:assert_eq(t.meta.owner, "me")
	t:assert_eq(t.meta.n, 3)
end)

test("no meta gives an empty table", function(t)
	t:assert_eq(type(t.meta), "table")
	t:assert_eq(next(t.meta), nil)
end)

test("assert default", function(t) t:assert(false) end)
test("assert message", function(t) t:assert(nil, "custom") end)
test("assert_eq", function(t) t:assert_eq("x", "y") end)
test("assert_eq message", function(t) t:assert_eq(1, 1.5, "numbers") end)
test("assert_neq", function(t) t:assert_neq(true, true) end)
test("assert_contains", function(t) t:assert_contains("haystack", "needle") end)
test("assert_contains types", function(t) t:assert_contains("3", 3) end)
test("fail default", function(t) t:fail() end)
test("fail message", function(t) t:fail("gave up") end)

test("assert_raises returns the error", function(t)
	local err = t:assert_raises(function() error({code = 7}) end)
	t:assert_eq(err.code, 7)
	-- An assertion that makes fn raise does not fail the test.
	t:assert_raises(function() t:assert(false, "inner") end)
end)

test("assert_raises fails", function(t)
	t:assert_raises(function() end, "should raise")
end)

test("sticky under pcall", function(t)
	local ok, err = pcall(function() t:assert_eq(1, 2) end)
	t:log(tostring(ok) .. " " .. err)
	pcall(t.fail, t, "second failure is not the reason")
end)

test("runtime error", function(t)
	local x = nil
	return x.field
end)

test("error object", function(t) error(setmetatable({}, {__tostring = function() return "custom object" end})) end)
test("error table", function(t) error({}) end)

test("skip with reason", function(t)
	t:log("before skip")
	t:skip("not today")
	t:log("never")
end)

test("skip default", function(t) t:skip() end)

test("skip under pcall still skips", function(t)
	pcall(function() t:skip("caught") end)
end)

test("skip wins over failure", function(t)
	pcall(function() t:fail("first") end)
	t:skip("then skipped")
end)
