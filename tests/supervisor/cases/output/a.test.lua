print("printed by a test")
test("a", function(t) os.execute("echo from-shell; echo to-stderr >&2") end)
