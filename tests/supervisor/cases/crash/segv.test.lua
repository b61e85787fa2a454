test("before", function(t) end)
test("boom", function(t) os.execute("kill -SEGV $PPID; sleep 5.@ID@") end)
test("after", function(t) end)
