provium:claim{memory = "1G", cpus = 64}
test("big", function(t) end)
