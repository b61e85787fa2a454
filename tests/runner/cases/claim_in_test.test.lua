test("claim inside a test", function(t)
	provium:claim{memory = 1073741824}
	t:log("claimed")
end)
