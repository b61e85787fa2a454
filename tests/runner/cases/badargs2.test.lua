test(42, function(t) end)
