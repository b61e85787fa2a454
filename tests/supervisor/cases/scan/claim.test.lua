-- provium:claim{memory = "1G", cpus = 9}  (a comment: ignored)
provium:claim{memory = "256M", cpus = 2}
local base = provium:vm_fixture("images/base.fixture.lua")
local lab = provium:lab_fixture 'net/two-hosts'
local again = provium:vm_fixture("images/base")
test("inner", function(t)
  provium:claim{memory = "8G", cpus = 8}
  local x = provium:vm_fixture("inner/one")
end)
