/* scan.c: fixture refs and a file-scope claim from fixtures/lualex.h tokens. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/lualex.h"
#include "scan.h"
#include "size.h"

/* A literal's text through size_parse ("512M", 1048576). */
static int
literal_size(const struct lualex_tok *t, uint64_t *bytes)
{
	char buf[64], err[128];

	if (t->n >= sizeof(buf))
		return -1;
	memcpy(buf, t->p, t->n);
	buf[t->n] = '\0';
	return size_parse(buf, bytes, err, sizeof(err));
}

static int
add_ref(struct scan_result *r, const struct lualex_tok *t)
{
	static const char suffix[] = ".fixture.lua";
	size_t n = t->n, sl = sizeof(suffix) - 1, i;
	char **p, *s;

	/* No file name holds a NUL; strndup would cut it and the cut name
	 * could duplicate another ref (found by tests/fuzz/fuzz_scan). */
	if (memchr(t->p, '\0', n) != NULL)
		return 0;
	if (n > sl && memcmp(t->p + n - sl, suffix, sl) == 0)
		n -= sl;
	for (i = 0; i < r->nfixture_refs; i++)
		if (strlen(r->fixture_refs[i]) == n &&
		    memcmp(r->fixture_refs[i], t->p, n) == 0)
			return 0;
	if ((s = strndup(t->p, n)) == NULL)
		return -1;
	p = realloc(r->fixture_refs, (r->nfixture_refs + 1) * sizeof(*p));
	if (p == NULL) {
		free(s);
		return -1;
	}
	p[r->nfixture_refs++] = s;
	r->fixture_refs = p;
	return 0;
}

/*
 * Parses `{memory = X, cpus = N}` after the '{'.  Unreadable: no claim,
 * false, and the lexer stays inside the table.
 */
static bool
parse_claim(struct lualex *lx, struct scan_result *r)
{
	struct lualex_tok k, eq, v;
	struct resource_amount a = { 0, 0 };
	uint64_t n;

	for (;;) {
		lualex_next(lx, &k);
		if (lualex_punct(&k, "}"))
			break;
		if (lualex_punct(&k, ",;"))
			continue;
		lualex_next(lx, &eq);
		lualex_next(lx, &v);
		if (k.kind != LUALEX_NAME || !lualex_punct(&eq, "="))
			return false;
		if (v.kind != LUALEX_NUMBER &&
		    !(v.kind == LUALEX_STRING && !v.escaped))
			return false;
		if (lualex_name(&k, "memory")) {
			if (literal_size(&v, &n))
				return false;
			a.memory_bytes = n;
		} else if (lualex_name(&k, "cpus")) {
			if (v.kind != LUALEX_NUMBER || literal_size(&v, &n) ||
			    n > UINT32_MAX)
				return false;
			a.cpus = (uint32_t)n;
		}
	}
	r->has_claim = true;
	r->claim = a;
	return true;
}

static bool
mentions_vms(const char *src, size_t len)
{
	static const char *const needles[] = {
		":vm(", ".vm(", "vm_fixture", "lab_fixture", ":boot(",
	};
	size_t i;

	for (i = 0; i < sizeof(needles) / sizeof(*needles); i++)
		if (memmem(src, len, needles[i], strlen(needles[i])) != NULL)
			return true;
	return false;
}

int
scan_source(const char *src, size_t len, struct scan_result *r)
{
	struct lualex lx;
	struct lualex_tok t, prev = { 0 }, a, b;
	int depth = 0;  /* blocks and brackets: 0 = file scope */

	memset(r, 0, sizeof(*r));
	r->uses_vms = mentions_vms(src, len);
	lualex_init(&lx, src, len);
	for (lualex_next(&lx, &t); t.kind != LUALEX_EOF;
	    prev = t, lualex_next(&lx, &t)) {
		bool member = lualex_punct(&prev, ".:");

		if (t.kind == LUALEX_NAME && !member) {
			if (lualex_name(&t, "function") ||
			    lualex_name(&t, "if") || lualex_name(&t, "do") ||
			    lualex_name(&t, "repeat"))
				depth++;
			else if (lualex_name(&t, "end") ||
			    lualex_name(&t, "until"))
				depth--;
		} else if (lualex_punct(&t, "({[")) {
			depth++;
		} else if (lualex_punct(&t, ")}]")) {
			depth--;
		}
		if (lualex_name(&t, "vm_fixture") ||
		    lualex_name(&t, "lab_fixture")) {
			lualex_next(&lx, &a);
			if (lualex_punct(&a, "(")) {
				depth++;
				prev = a;
				lualex_next(&lx, &a);
			}
			if (a.kind == LUALEX_STRING && !a.escaped &&
			    add_ref(r, &a))
				goto oom;
			t = a;
			if (lualex_punct(&a, ")}"))
				depth--;
			else if (lualex_punct(&a, "{"))
				depth++;
			continue;
		}
		if (depth == 0 && lualex_name(&t, "provium") && !member) {
			size_t save = lx.pos;
			lualex_next(&lx, &a);
			lualex_next(&lx, &b);
			if (lualex_punct(&a, ":") && lualex_name(&b, "claim")) {
				int paren = 0;
				lualex_next(&lx, &a);
				if (lualex_punct(&a, "(")) {
					paren = 1;
					lualex_next(&lx, &a);
				}
				if (lualex_punct(&a, "{") && !r->has_claim) {
					if (!parse_claim(&lx, r))
						depth++;
					depth += paren;
					continue;
				}
			}
			lx.pos = save;
		}
	}
	return 0;
oom:
	scan_result_clear(r);
	errno = ENOMEM;
	return -1;
}

void
scan_result_clear(struct scan_result *r)
{
	size_t i;

	for (i = 0; i < r->nfixture_refs; i++)
		free(r->fixture_refs[i]);
	free(r->fixture_refs);
	memset(r, 0, sizeof(*r));
}
