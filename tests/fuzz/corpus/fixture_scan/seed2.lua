vm_fixture("unterminated
[[ long