test("slow", { spec = "2" }, function(t)
  local x = os.time()
  while os.time() < x + 2 do end
end)
