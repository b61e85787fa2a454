test("never", function(t) end)
error("boom at file scope")
