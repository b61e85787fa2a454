/*
 * psi.h: the pressure-stall (PSI) gate that holds new dispatches while
 * the host is under pressure.
 *
 * Linux publishes `some avg10=<percent>` (share of the last 10 s in which
 * at least one task stalled) in /proc/pressure/{memory,cpu,io}.  The gate
 * closes ("held") as soon as any of the three is *above* the threshold
 * (default 10.0, upstream's `> 10.0`) and opens again only once every
 * readable one is *below* half the threshold.  The band in between keeps
 * the gate where it is, so a value hovering around 10 % does not flap
 * dispatch on and off every second.  Running files are never paused: the
 * gate only answers "may a new file start now?".
 *
 * Driving it from the supervisor's poll loop (no thread, no timer of its
 * own; each poll reads three small procfs files, which never blocks):
 *
 *   struct psi_gate g;
 *   char note[512];
 *   if (psi_gate_init(&g, NULL, threshold, note, sizeof note) == 1)
 *       print "provium: <note>" once; the gate stays open for the run
 *   every 1 s (the same timerfd tick as pool_state):
 *       psi_gate_poll(&g);           // PSI_GATE_HELD / _RELEASED on edges
 *   before admitting a waiting file:
 *       if (psi_gate_holds(&g, running)) { emit file_blocked{reason:
 *           "psi_pressure", waiting_for: overhead} once for that file;
 *           keep it waiting }
 *
 * The directory is `dir` if given, else $PROVIUM_PSI_DIR, else
 * /proc/pressure, so integration tests simulate a spike by writing
 * "some avg10=55.00 avg60=0.00 avg300=0.00 total=0" into plain files.
 * The struct lives in caller storage and owns no resources.
 */
#ifndef PROVIUM_PSI_H
#define PROVIUM_PSI_H

#include <stdbool.h>
#include <stddef.h>

enum psi_resource { PSI_MEMORY, PSI_CPU, PSI_IO, PSI_COUNT };

#define PSI_DEFAULT_THRESHOLD 10.0
#define PSI_DIR_ENV           "PROVIUM_PSI_DIR"
#define PSI_DEFAULT_DIR       "/proc/pressure"
#define PSI_DIR_MAX           1024

enum psi_change {
	PSI_GATE_UNCHANGED,
	PSI_GATE_HELD,          /* just closed: hold new dispatches */
	PSI_GATE_RELEASED       /* just opened: admit waiting files */
};

struct psi_gate {
	char dir[PSI_DIR_MAX];
	double threshold;       /* hold when any value > threshold */
	double resume_below;    /* open when every value < this (threshold/2) */
	bool enabled;           /* false: no PSI on this host, never held */
	bool held;
	bool have[PSI_COUNT];   /* last poll: did the file parse? */
	double value[PSI_COUNT];
};

/* "memory", "cpu", "io": also the file names under the directory. */
const char *psi_resource_name(enum psi_resource r);

/*
 * Extracts avg10 from the `some` line of a pressure file's text
 * ("some avg10=12.34 avg60=..." -> 12.34).  -1 (EBADMSG) when there is
 * no `some` line, no avg10 field, or the number is garbled, negative or
 * not finite.
 */
int psi_parse_some_avg10(const char *text, double *out);

/* Reads path (at most 4 KiB) and parses it; -1 with errno on failure. */
int psi_read_file(const char *path, double *out);

/*
 * Parses `--psi-threshold` (a percentage, 0 < t <= 100).  -1 with
 * err = "cannot parse --psi-threshold `S` (expected a percentage above 0
 * and at most 100)".
 */
int psi_parse_threshold(const char *s, double *out, char *err,
    size_t errlen);

/*
 * Sets the gate up and probes <dir>/memory (as upstream does: no memory
 * pressure file, no monitor).  Returns 0 when the gate is live; 1 when
 * PSI is unavailable: the gate is disabled for good and `notice` holds
 * the one line to print; -1 (EINVAL) when threshold is not in (0, 100]
 * or dir is too long, with the reason in `notice`.
 */
int psi_gate_init(struct psi_gate *g, const char *dir, double threshold,
    char *notice, size_t noticelen);

/* Reads the three files and applies psi_gate_update. */
enum psi_change psi_gate_poll(struct psi_gate *g);

/*
 * The hysteresis on its own (tests feed it values): have[i] false means
 * "no reading" (the file is missing or garbled) and that resource is
 * ignored.  With no readings at all a held gate opens.
 */
enum psi_change psi_gate_update(struct psi_gate *g,
    const bool have[PSI_COUNT], const double value[PSI_COUNT]);

bool psi_gate_held(const struct psi_gate *g);

/*
 * The dispatch rule: hold a new file only while the gate is held *and*
 * at least one file is running.  With nothing running, pressure is not
 * ours to wait out: on a host that other work keeps above the threshold
 * (this development machine idles at cpu some avg10 12-19 %) an upstream
 * style gate would never let the run start.  One file at a time still
 * gets through, so the run crawls instead of hanging.
 */
bool psi_gate_holds(const struct psi_gate *g, size_t running_files);

/*
 * Says why the gate is held, for logs: "memory some avg10=12.34 %, over
 * the 10.00 % threshold"; the highest reading over the threshold wins.
 * "" when not held.
 */
void psi_gate_describe(const struct psi_gate *g, char *buf, size_t len);

#endif
