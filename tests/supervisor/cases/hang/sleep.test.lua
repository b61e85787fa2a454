test("sleepy", function(t) os.execute("sleep 30.17") end)
test("after", function(t) end)
