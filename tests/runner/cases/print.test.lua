-- print goes to stdout (the supervisor's stderr), never the channel.
print("from the chunk")
test("prints", function(t) print("from a test") end)
