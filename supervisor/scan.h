/*
 * scan.h: static scan of a test file's source, before it runs.
 *
 * Finds the literal arguments of vm_fixture("…") / lab_fixture("…")
 * (anywhere, comments and non-literal arguments ignored) and a
 * provium:claim{memory=…, cpus=…} at file scope (outside every function
 * and block), so file_discovered can carry fixture_refs and
 * declared_claim without running Lua.  `memory` is a byte count or a
 * size string (size.h: "512M", 1024-based).  A tiny Lua lexer, not a parser:
 * anything it cannot read as a literal is simply not reported.
 */
#ifndef PROVIUM_SCAN_H
#define PROVIUM_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "events/event.h"

struct scan_result {
	char **fixture_refs;        /* malloc'd, ".fixture.lua" stripped, deduplicated */
	size_t nfixture_refs;
	bool has_claim;
	struct resource_amount claim;
	/* The source mentions the VM API (`:vm(`, `.vm(`, `vm_fixture`,
	 * `lab_fixture`, `:boot(`): a cheap text test that decides whether the
	 * run needs preflight.  Also true for a file too big to scan. */
	bool uses_vms;
};

/* Scans src[0..len).  0, or -1 (ENOMEM). */
int scan_source(const char *src, size_t len, struct scan_result *out);
void scan_result_clear(struct scan_result *r);

#endif
