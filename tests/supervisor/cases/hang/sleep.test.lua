test("sleepy", function(t) os.execute("sleep 30.17@ID@") end)
test("after", function(t) end)
