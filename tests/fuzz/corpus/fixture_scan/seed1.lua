local a = provium:vm_fixture("net/a")
require [==[lib.h]==]
vm:push_file("f", "/f", { auto_dep = false })
-- vm_fixture("c")
--[[ x ]] depends_on_file 'g\n'
