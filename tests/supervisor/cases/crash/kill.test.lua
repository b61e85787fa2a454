test("killed", function(t) os.execute("kill -KILL $PPID; sleep 5.@ID@") end)
test("after", function(t) end)
