test("nap3", function(t) os.execute("sleep 30.23@ID@") end)
test("after", function(t) end)
