provium:claim{memory = "64M", cpus = 2}
test("c1", function(t) os.execute("sleep 0.2") end)
