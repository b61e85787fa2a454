provium.timeout = "1s"
provium.retries = 3
test("never", function(t) end)
