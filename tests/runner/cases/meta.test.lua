-- meta carried as a MetaMap: sorted keys, arrays, nesting, bin vs str.
test("kinds", {
	spec = "SPEC-1",
	int = -5,
	float = 1.5,
	whole_float = 2.0,
	yes = true,
	no = false,
	tags = {"a", "b"},
	nested = {z = 1, a = {1, 2, {k = "v"}}},
	bytes = "\xff\x00\x01",
	utf8 = "h\xc3\xa9",
	fn = print,
	empty = {},
	[1] = "ignored: not a string key",
}, function(t) end)

local cyc = {}
cyc.self = cyc
test("cycle is cut", {cyc = cyc}, function(t) end)
