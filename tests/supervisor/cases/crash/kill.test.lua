test("killed", function(t) os.execute("kill -KILL $PPID; sleep 5") end)
test("after", function(t) end)
