-- Reports stay bounded whatever a test does (runner_int.h caps); run.sh
-- summarizes the messages instead of comparing megabytes.
local kib = string.rep("x", 1023)
test("log 3 MiB", function(t)
  for i = 1, 3072 do t:log(kib) end
end)
test("log a million empty lines", function(t)
  for i = 1, 1000000 do t:log("") end
end)
test("fail with a 1 MiB reason", function(t)
  error(string.rep("r", 1 << 20), 0)
end)
test("skip with a 1 MiB reason", function(t)
  t:skip(string.rep("s", 1 << 20))
end)
test(string.rep("n", 100000), function(t) end)
