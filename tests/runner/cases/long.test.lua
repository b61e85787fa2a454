-- Many slow-ish tests: the supervisor hangs up part-way through.
for i = 1, 50 do
	test("t" .. i, function(t) for _ = 1, 1e6 do end end)
end
