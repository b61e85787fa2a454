provium:claim{memory = "2G", cpus = 1}
test("never", function(t) end)
