/* psi.c: see psi.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/psi.h"

#define PSI_FILE_MAX 4096

static const char *const psi_names[PSI_COUNT] = { "memory", "cpu", "io" };

const char *
psi_resource_name(enum psi_resource r)
{
	return (unsigned)r < PSI_COUNT ? psi_names[r] : "?";
}

int
psi_parse_some_avg10(const char *text, double *out)
{
	const char *line = text, *p, *eol;
	char *end;
	double v;

	for (; line != NULL && *line != '\0'; line = eol ? eol + 1 : NULL) {
		eol = strchr(line, '\n');
		if (strncmp(line, "some ", 5) != 0)
			continue;
		p = strstr(line, "avg10=");
		if (p == NULL || (eol != NULL && p > eol))
			break;
		p += strlen("avg10=");
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno != 0 || !isfinite(v) || v < 0 ||
		    (*end != ' ' && *end != '\n' && *end != '\0'))
			break;
		*out = v;
		return 0;
	}
	return errno = EBADMSG, -1;
}

int
psi_read_file(const char *path, double *out)
{
	char buf[PSI_FILE_MAX];
	size_t n = 0;
	ssize_t r = 0;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	/* procfs hands the whole file to one read; loop for plain files. */
	while (n < sizeof(buf) - 1) {
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	saved = errno;
	if (r == -1) {
		close(fd);
		return errno = saved, -1;
	}
	close(fd);
	buf[n] = '\0';
	return psi_parse_some_avg10(buf, out);
}

int
psi_parse_threshold(const char *s, double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = s != NULL && *s != '\0' ? strtod(s, &end) : NAN;
	if (s == NULL || *s == '\0' || *end != '\0' || errno != 0 ||
	    !(v > 0 && v <= 100)) {
		snprintf(err, errlen, "cannot parse --psi-threshold `%s` "
		    "(expected a percentage above 0 and at most 100)",
		    s != NULL ? s : "");
		return errno = EINVAL, -1;
	}
	*out = v;
	return 0;
}

static int
psi_path(const struct psi_gate *g, enum psi_resource r, char *buf,
    size_t len)
{
	int n = snprintf(buf, len, "%s/%s", g->dir, psi_names[r]);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
psi_gate_init(struct psi_gate *g, const char *dir, double threshold,
    char *notice, size_t noticelen)
{
	char path[PSI_DIR_MAX + 16];
	double v;

	memset(g, 0, sizeof(*g));
	if (noticelen > 0)
		notice[0] = '\0';
	if (dir == NULL)
		dir = getenv(PSI_DIR_ENV);
	if (dir == NULL || *dir == '\0')
		dir = PSI_DEFAULT_DIR;
	if (!(threshold > 0 && threshold <= 100)) {
		snprintf(notice, noticelen, "PSI threshold %g is not a "
		    "percentage above 0 and at most 100", threshold);
		return errno = EINVAL, -1;
	}
	if (strlen(dir) >= sizeof(g->dir)) {
		snprintf(notice, noticelen, "PSI directory `%.64s...` is "
		    "longer than %d bytes", dir, PSI_DIR_MAX - 1);
		return errno = EINVAL, -1;
	}
	strcpy(g->dir, dir);
	g->threshold = threshold;
	g->resume_below = threshold / 2;
	psi_path(g, PSI_MEMORY, path, sizeof(path));
	if (psi_read_file(path, &v) == -1) {
		snprintf(notice, noticelen, "no pressure-stall information at "
		    "`%s` (%s); new files are not held back on host pressure",
		    path, errno == EBADMSG ? "no `some avg10=` line" :
		    strerror(errno));
		return 1;
	}
	g->enabled = true;
	return 0;
}

enum psi_change
psi_gate_update(struct psi_gate *g, const bool have[PSI_COUNT],
    const double value[PSI_COUNT])
{
	bool over = false, below = true;

	for (int i = 0; i < PSI_COUNT; i++) {
		g->have[i] = have[i];
		g->value[i] = have[i] ? value[i] : 0;
		if (!have[i])
			continue;
		if (value[i] > g->threshold)
			over = true;
		if (!(value[i] < g->resume_below))
			below = false;
	}
	if (!g->enabled)
		return PSI_GATE_UNCHANGED;
	if (!g->held && over) {
		g->held = true;
		return PSI_GATE_HELD;
	}
	if (g->held && below) {
		g->held = false;
		return PSI_GATE_RELEASED;
	}
	return PSI_GATE_UNCHANGED;
}

enum psi_change
psi_gate_poll(struct psi_gate *g)
{
	char path[PSI_DIR_MAX + 16];
	bool have[PSI_COUNT];
	double value[PSI_COUNT];

	if (!g->enabled)
		return PSI_GATE_UNCHANGED;
	for (int i = 0; i < PSI_COUNT; i++) {
		value[i] = 0;
		have[i] = psi_path(g, (enum psi_resource)i, path,
		    sizeof(path)) == 0 && psi_read_file(path, &value[i]) == 0;
	}
	return psi_gate_update(g, have, value);
}

bool
psi_gate_held(const struct psi_gate *g)
{
	return g->enabled && g->held;
}

bool
psi_gate_holds(const struct psi_gate *g, size_t running_files)
{
	return psi_gate_held(g) && running_files > 0;
}

void
psi_gate_describe(const struct psi_gate *g, char *buf, size_t len)
{
	int worst = -1;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (!psi_gate_held(g))
		return;
	for (int i = 0; i < PSI_COUNT; i++)
		if (g->have[i] && (worst == -1 || g->value[i] > g->value[worst]))
			worst = i;
	if (worst == -1)
		return;
	if (g->value[worst] > g->threshold)
		snprintf(buf, len, "%s some avg10=%.2f %%, over the %.2f %% "
		    "threshold", psi_names[worst], g->value[worst],
		    g->threshold);
	else
		snprintf(buf, len, "%s some avg10=%.2f %%, not yet below "
		    "%.2f %%", psi_names[worst], g->value[worst],
		    g->resume_below);
}
