provium:claim{memory="512M", cpus=2}
local vm = vm_fixture("web.fixture.lua")
lab_fixture [[db]]
vm_fixture("web")
-- vm_fixture("no")
function f() provium:claim{memory=1} end
