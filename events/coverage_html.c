/*
 * coverage_html.c: the self-contained HTML coverage report.  No scripts,
 * no external assets: inline CSS only, so the file can be archived as a
 * CI artifact and opened anywhere.
 *
 * Rollup: a bucket named like a spec section -- "4.2.1", "§4.2.1" or
 * "prefix §4.2.1" -- also counts towards its parents ("4.2", "4"), which
 * appear as rows of their own even when no test names them directly.
 * Parent counts are per (test, section) pairs, so a test tagged 4.1 and
 * 4.2 counts twice in 4.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "events/coverage.h"

struct row {
	char *key;
	int depth;
	int direct;             /* some test names this section itself */
	struct coverage_counts n;
};

static void
esc(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputs("\xef\xbf\xbd", out);  /* U+FFFD for control bytes */
			else
				fputc(*s, out);
		}
	}
}

/* Start of the numbered part of a section key, or NULL if it has none. */
static const char *
numbered(const char *k)
{
	const char *p = strstr(k, "\xc2\xa7"), *q;   /* § */

	if (p) {
		for (q = p; (q = strstr(q + 2, "\xc2\xa7")); p = q)
			;
		p += 2;
		while (*p == ' ')
			p++;
	} else {
		p = k;
	}
	if (!isdigit((unsigned char)*p))
		return NULL;
	for (q = p; *q; q++)
		if (!isalnum((unsigned char)*q) && *q != '.')
			return NULL;
	return p;
}

/* Numeric-aware order: 4.9 < 4.10; plain byte order otherwise. */
static int
natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			unsigned long long x = strtoull(a, (char **)&a, 10);
			unsigned long long y = strtoull(b, (char **)&b, 10);
			if (x != y)
				return x < y ? -1 : 1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++, b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int
rowcmp(const void *x, const void *y)
{
	return natcmp(((const struct row *)x)->key, ((const struct row *)y)->key);
}

static void
add(struct coverage_counts *d, const struct coverage_counts *s)
{
	d->passed += s->passed;
	d->failed += s->failed;
	d->skipped += s->skipped;
}

/* All rows: buckets plus their rolled-up parents, in section order. */
static struct row *
rows_of(const struct coverage *c, size_t *nrows)
{
	struct smap idx = SMAP_INIT;
	struct row *r = NULL;
	size_t n = 0, cap = 0, i;
	struct smap_ent *e;
	int created;

	for (i = 0; i < smap_len(&c->buckets); i++) {
		const struct smap_ent *b = smap_at(&c->buckets, i);
		char *k = strdup(b->key);
		const char *num;
		int direct = 1;

		while (k) {
			e = smap_put(&idx, k, strlen(k), &created);
			if (!e)
				goto oom;
			if (created) {
				if (n == cap) {
					void *p;
					cap = cap ? cap * 2 : 32;
					if (!(p = realloc(r, cap * sizeof(*r))))
						goto oom;
					r = p;
				}
				memset(&r[n], 0, sizeof(r[n]));
				r[n].key = k;
				e->val = (void *)(uintptr_t)(n + 1);
				n++;
			} else {
				free(k);
			}
			struct row *row = &r[(uintptr_t)e->val - 1];
			add(&row->n, b->val);
			row->direct |= direct;
			direct = 0;
			num = numbered(row->key);
			if (!num || !strchr(num, '.'))
				break;
			k = strndup(row->key, (size_t)(strrchr(num, '.') - row->key));
		}
	}
	for (i = 0; i < n; i++) {
		const char *num = numbered(r[i].key), *p;
		for (p = num; p && *p; p++)
			r[i].depth += *p == '.';
	}
	smap_clear(&idx);
	qsort(r, n, sizeof(*r), rowcmp);
	*nrows = n;
	return r;
oom:
	smap_clear(&idx);
	for (i = 0; i < n; i++)
		free(r[i].key);
	free(r);
	return NULL;
}

static void
bar(FILE *out, const struct coverage_counts *n)
{
	double t = (double)(n->passed + n->failed + n->skipped);

	fputs("<div class=bar>", out);
	if (t > 0) {
		if (n->passed)
			fprintf(out, "<span class=p style=\"width:%.2f%%\"></span>",
			    100.0 * (double)n->passed / t);
		if (n->failed)
			fprintf(out, "<span class=f style=\"width:%.2f%%\"></span>",
			    100.0 * (double)n->failed / t);
		if (n->skipped)
			fprintf(out, "<span class=s style=\"width:%.2f%%\"></span>",
			    100.0 * (double)n->skipped / t);
	}
	fputs("</div>", out);
}

static void
counts(FILE *out, const struct coverage_counts *n)
{
	fprintf(out, "<td class=num>%llu</td><td class=\"num pc\">%llu</td>"
	    "<td class=\"num fc\">%llu</td><td class=\"num sc\">%llu</td>",
	    (unsigned long long)(n->passed + n->failed + n->skipped),
	    (unsigned long long)n->passed, (unsigned long long)n->failed,
	    (unsigned long long)n->skipped);
}

static const char css[] =
"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;"
"color:#1d2330;background:#f5f6f8}"
"header{background:#1d2330;color:#fff;padding:18px 32px}"
"header h1{margin:0;font-size:20px;font-weight:600}"
"header .sub{color:#aab3c5;margin-top:4px}"
"main{padding:20px 32px;max-width:1100px}"
".cards{display:flex;gap:12px;margin-bottom:18px;flex-wrap:wrap}"
".card{background:#fff;border-radius:8px;padding:12px 18px;min-width:120px;"
"box-shadow:0 1px 2px rgba(0,0,0,.08)}"
".card b{display:block;font-size:24px}"
".ok{color:#1a7f37}.bad{color:#cf222e}.skip{color:#6e7781}"
".banner{padding:10px 16px;border-radius:8px;margin-bottom:16px;font-weight:600}"
".banner.inc{background:#fff4e5;color:#8a4b00;border:1px solid #f0c36d}"
".banner.com{background:#e9f7ef;color:#1a7f37;border:1px solid #a6dcb6}"
"table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;"
"overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.08)}"
"th,td{padding:6px 12px;text-align:left;border-bottom:1px solid #eceef1}"
"th{background:#fafbfc;font-weight:600;font-size:12px;text-transform:uppercase;"
"color:#57606a}"
"td.num{text-align:right;font-variant-numeric:tabular-nums;width:56px}"
".pc{color:#1a7f37}.fc{color:#cf222e}.sc{color:#6e7781}"
"tr.parent td.key{font-weight:600}"
"tr.rollup td.key{color:#57606a;font-style:italic}"
".bar{display:flex;height:12px;width:260px;background:#eceef1;border-radius:6px;"
"overflow:hidden}"
".bar span{display:block;height:100%}"
".bar .p{background:#2da44e}.bar .f{background:#e5534b}.bar .s{background:#afb8c1}"
"h2{font-size:16px;margin:26px 0 10px}"
"details.fail{background:#fff;border-left:4px solid #e5534b;border-radius:6px;"
"margin:10px 0;padding:10px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}"
"details.fail summary{cursor:pointer;font-weight:600}"
".tag{display:inline-block;background:#eef1f5;color:#3b4250;border-radius:10px;"
"padding:0 8px;margin-left:6px;font-size:12px;font-weight:500}"
"pre{background:#0f1419;color:#d6dde6;padding:10px 12px;border-radius:6px;"
"overflow:auto;max-height:320px;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;"
"white-space:pre-wrap;word-break:break-all}"
"pre.reason{background:#fff0ef;color:#82071e}"
".muted{color:#6e7781}";

int
coverage_html(const struct coverage *c, FILE *out)
{
	struct row *r;
	size_t n, i;
	const char **inc;
	size_t ninc;
	char **b;

	if (!(r = rows_of(c, &n)))
		return -1;
	fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
	    "<meta name=viewport content=\"width=device-width\">"
	    "<title>provium coverage by ", out);
	esc(out, c->by);
	fprintf(out, "</title><style>%s</style></head><body>\n<header><h1>"
	    "Coverage by <code>", css);
	esc(out, c->by);
	fprintf(out, "</code></h1><div class=sub>%llu frames &middot; %zu files "
	    "&middot; %.1f s of events</div></header>\n<main>\n",
	    (unsigned long long)c->frames, smap_len(&c->chk.files),
	    (double)(c->last_ts - c->first_ts) / 1e9);
	ninc = check_incomplete(&c->chk, &inc);
	if (ninc > 0) {
		fprintf(out, "<div class=\"banner inc\">Incomplete run: %zu of %zu "
		    "discovered files never completed (", ninc,
		    smap_len(&c->chk.files));
		for (i = 0; i < ninc && i < 10; i++) {
			fputs(i ? ", " : "", out);
			esc(out, inc[i]);
		}
		fputs(ninc > 10 ? ", …)</div>\n" : ")</div>\n", out);
	} else {
		fputs("<div class=\"banner com\">Complete run: every discovered "
		    "file completed</div>\n", out);
	}
	fprintf(out, "<div class=cards><div class=card><b>%llu</b>tests</div>"
	    "<div class=card><b class=ok>%llu</b>passed</div>"
	    "<div class=card><b class=bad>%llu</b>failed</div>"
	    "<div class=card><b class=skip>%llu</b>skipped</div>"
	    "<div class=card><b>%zu</b>buckets</div></div>\n",
	    (unsigned long long)(c->total.passed + c->total.failed + c->total.skipped),
	    (unsigned long long)c->total.passed, (unsigned long long)c->total.failed,
	    (unsigned long long)c->total.skipped, smap_len(&c->buckets));
	fputs("<table><thead><tr><th>Section</th><th>Results</th><th>Tests</th>"
	    "<th>Pass</th><th>Fail</th><th>Skip</th></tr></thead><tbody>\n", out);
	for (i = 0; i < n; i++) {
		int parent = i + 1 < n && r[i + 1].depth > r[i].depth;
		fprintf(out, "<tr class=\"%s%s\"><td class=key style=\"padding-left:%dpx\">",
		    parent ? "parent" : "", r[i].direct ? "" : " rollup",
		    12 + 20 * r[i].depth);
		esc(out, r[i].key);
		fputs("</td><td>", out);
		bar(out, &r[i].n);
		fputs("</td>", out);
		counts(out, &r[i].n);
		fputs("</tr>\n", out);
	}
	if (c->unset.passed + c->unset.failed + c->unset.skipped > 0) {
		fputs("<tr><td class=\"key muted\">&lt;unset&gt;</td><td>", out);
		bar(out, &c->unset);
		fputs("</td>", out);
		counts(out, &c->unset);
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
	for (i = 0; i < n; i++)
		free(r[i].key);
	free(r);

	fprintf(out, "<h2>Failing tests (%llu)</h2>\n",
	    (unsigned long long)c->total.failed);
	if (c->nfails == 0)
		fputs("<p class=muted>None.</p>\n", out);
	for (i = 0; i < c->nfails; i++) {
		const struct coverage_fail *f = &c->fails[i];
		fputs("<details class=fail open><summary>", out);
		esc(out, f->path);
		fputs(" :: ", out);
		esc(out, f->name);
		for (b = f->buckets; *b; b++) {
			fputs("<span class=tag>", out);
			esc(out, *b);
			fputs("</span>", out);
		}
		if (!*f->buckets)
			fputs("<span class=tag>&lt;unset&gt;</span>", out);
		fprintf(out, " <span class=muted>%.3f s</span></summary>\n"
		    "<pre class=reason>", (double)f->duration_ns / 1e9);
		esc(out, f->reason);
		fputs("</pre>\n", out);
		if (*f->excerpt) {
			fputs("<div class=muted>console excerpt</div><pre>", out);
			esc(out, f->excerpt);
			fputs("</pre>\n", out);
		}
		fputs("</details>\n", out);
	}
	if (c->fails_dropped)
		fprintf(out, "<p class=muted>… and %llu more failures not shown.</p>\n",
		    (unsigned long long)c->fails_dropped);
	fputs("</main></body></html>\n", out);
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
