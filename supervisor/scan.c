/* scan.c: a minimal Lua lexer that finds fixture refs and a file-scope claim. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "size.h"

enum tok_type { T_EOF, T_NAME, T_STRING, T_NUMBER, T_PUNCT };

struct tok {
	enum tok_type type;
	const char *p;      /* name/number text, string body, or punct char */
	size_t n;
	bool escaped;       /* string had escapes: not taken literally */
};

struct lexer {
	const char *s;
	size_t len, pos;
};

/* Length of a long bracket opener "[==[" at pos, or 0; level in *lvl. */
static size_t
long_open(const struct lexer *lx, size_t pos, size_t *lvl)
{
	size_t i = pos + 1, l = 0;

	if (pos >= lx->len || lx->s[pos] != '[')
		return 0;
	while (i < lx->len && lx->s[i] == '=')
		i++, l++;
	if (i < lx->len && lx->s[i] == '[') {
		*lvl = l;
		return i + 1 - pos;
	}
	return 0;
}

/* Skips to after the matching "]==]"; returns the body end. */
static size_t
long_close(struct lexer *lx, size_t lvl)
{
	while (lx->pos < lx->len) {
		if (lx->s[lx->pos] == ']') {
			size_t i = lx->pos + 1, l = 0;
			while (i < lx->len && lx->s[i] == '=')
				i++, l++;
			if (l == lvl && i < lx->len && lx->s[i] == ']') {
				size_t end = lx->pos;
				lx->pos = i + 1;
				return end;
			}
		}
		lx->pos++;
	}
	return lx->len;
}

static void
next_tok(struct lexer *lx, struct tok *t)
{
	const char *s = lx->s;
	size_t lvl, k;

	for (;;) {
		while (lx->pos < lx->len && isspace((unsigned char)s[lx->pos]))
			lx->pos++;
		if (lx->pos + 1 < lx->len && s[lx->pos] == '-' &&
		    s[lx->pos + 1] == '-') {
			lx->pos += 2;
			if ((k = long_open(lx, lx->pos, &lvl)) != 0) {
				lx->pos += k;
				(void)long_close(lx, lvl);
			} else {
				while (lx->pos < lx->len && s[lx->pos] != '\n')
					lx->pos++;
			}
			continue;
		}
		break;
	}
	memset(t, 0, sizeof(*t));
	if (lx->pos >= lx->len) {
		t->type = T_EOF;
		return;
	}
	char c = s[lx->pos];
	if (isalpha((unsigned char)c) || c == '_') {
		t->type = T_NAME;
		t->p = s + lx->pos;
		while (lx->pos < lx->len && (isalnum((unsigned char)s[lx->pos]) ||
		    s[lx->pos] == '_'))
			lx->pos++;
		t->n = (size_t)(s + lx->pos - t->p);
	} else if (isdigit((unsigned char)c)) {
		t->type = T_NUMBER;
		t->p = s + lx->pos;
		while (lx->pos < lx->len && (isalnum((unsigned char)s[lx->pos]) ||
		    s[lx->pos] == '.'))
			lx->pos++;
		t->n = (size_t)(s + lx->pos - t->p);
	} else if (c == '"' || c == '\'') {
		t->type = T_STRING;
		t->p = s + ++lx->pos;
		while (lx->pos < lx->len && s[lx->pos] != c && s[lx->pos] != '\n') {
			if (s[lx->pos] == '\\') {
				t->escaped = true;
				lx->pos++;
			}
			lx->pos++;
		}
		t->n = (size_t)(s + (lx->pos < lx->len ? lx->pos : lx->len) - t->p);
		if (lx->pos < lx->len)
			lx->pos++;
	} else if ((k = long_open(lx, lx->pos, &lvl)) != 0) {
		t->type = T_STRING;
		lx->pos += k;
		if (lx->pos < lx->len && s[lx->pos] == '\n')
			lx->pos++;
		t->p = s + lx->pos;
		t->n = long_close(lx, lvl) - (size_t)(t->p - s);
	} else {
		t->type = T_PUNCT;
		t->p = s + lx->pos++;
		t->n = 1;
	}
}

static bool
is_name(const struct tok *t, const char *name)
{
	return t->type == T_NAME && t->n == strlen(name) &&
	    memcmp(t->p, name, t->n) == 0;
}

static bool
is_punct(const struct tok *t, char c)
{
	return t->type == T_PUNCT && *t->p == c;
}

/* A literal's text through size_parse ("512M", 1048576). */
static int
literal_size(const struct tok *t, uint64_t *bytes)
{
	char buf[64], err[128];

	if (t->n >= sizeof(buf))
		return -1;
	memcpy(buf, t->p, t->n);
	buf[t->n] = '\0';
	return size_parse(buf, bytes, err, sizeof(err));
}

static int
add_ref(struct scan_result *r, const struct tok *t)
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
parse_claim(struct lexer *lx, struct scan_result *r)
{
	struct tok k, eq, v;
	struct resource_amount a = { 0, 0 };
	uint64_t n;

	for (;;) {
		next_tok(lx, &k);
		if (is_punct(&k, '}'))
			break;
		if (is_punct(&k, ',') || is_punct(&k, ';'))
			continue;
		next_tok(lx, &eq);
		next_tok(lx, &v);
		if (k.type != T_NAME || !is_punct(&eq, '='))
			return false;
		if (v.type != T_NUMBER && !(v.type == T_STRING && !v.escaped))
			return false;
		if (is_name(&k, "memory")) {
			if (literal_size(&v, &n))
				return false;
			a.memory_bytes = n;
		} else if (is_name(&k, "cpus")) {
			if (v.type != T_NUMBER || literal_size(&v, &n) ||
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
	struct lexer lx = { src, len, 0 };
	struct tok t, prev = { 0 }, a, b;
	int depth = 0;  /* blocks and brackets: 0 = file scope */

	memset(r, 0, sizeof(*r));
	r->uses_vms = mentions_vms(src, len);
	if (len >= 1 && src[0] == '#')      /* shebang line */
		while (lx.pos < len && src[lx.pos] != '\n')
			lx.pos++;
	for (next_tok(&lx, &t); t.type != T_EOF; prev = t, next_tok(&lx, &t)) {
		bool member = is_punct(&prev, '.') || is_punct(&prev, ':');

		if (t.type == T_NAME && !member) {
			if (is_name(&t, "function") || is_name(&t, "if") ||
			    is_name(&t, "do") || is_name(&t, "repeat"))
				depth++;
			else if (is_name(&t, "end") || is_name(&t, "until"))
				depth--;
		} else if (is_punct(&t, '(') || is_punct(&t, '{') ||
		    is_punct(&t, '[')) {
			depth++;
		} else if (is_punct(&t, ')') || is_punct(&t, '}') ||
		    is_punct(&t, ']')) {
			depth--;
		}
		if (is_name(&t, "vm_fixture") || is_name(&t, "lab_fixture")) {
			next_tok(&lx, &a);
			if (is_punct(&a, '(')) {
				depth++;
				prev = a;
				next_tok(&lx, &a);
			}
			if (a.type == T_STRING && !a.escaped && add_ref(r, &a))
				goto oom;
			t = a;
			if (is_punct(&a, ')') || is_punct(&a, '}'))
				depth--;
			else if (is_punct(&a, '{'))
				depth++;
			continue;
		}
		if (depth == 0 && is_name(&t, "provium") && !member) {
			size_t save = lx.pos;
			next_tok(&lx, &a);
			next_tok(&lx, &b);
			if (is_punct(&a, ':') && is_name(&b, "claim")) {
				int paren = 0;
				next_tok(&lx, &a);
				if (is_punct(&a, '(')) {
					paren = 1;
					next_tok(&lx, &a);
				}
				if (is_punct(&a, '{') && !r->has_claim) {
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
