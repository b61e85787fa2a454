/*
 * render.h: what a person (or a --json consumer) sees of a run.
 *
 * Fed one completed file at a time.  Human output (upstream §2.5) and
 * JSON lines (§2.6) come out in input order; on a terminal, human lines
 * stream as files complete with an "[i/N] " prefix instead, under a live
 * progress line.
 */
#ifndef PROVIUM_RENDER_H
#define PROVIUM_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "supervisor/runfile.h"

struct render_opts {
	FILE *out;              /* stdout, or stderr with --events-stdout */
	bool json;
	bool verbose;
	bool quiet;
	bool progress;          /* live line: caller decided (TTY, flags) */
	bool stream;            /* print as files complete ([i/N] prefix) */
};

struct render;

/* nfiles files; display paths are looked up through the runfiles given later. */
struct render *render_new(const struct render_opts *o, size_t nfiles);
/* File idx completed; rf must stay valid until render_emitted(idx). */
void render_file(struct render *r, size_t idx, const struct runfile *rf);

/* Whether file idx has been printed: the render holds no pointer to its
 * runfile any more, the caller may free it. */
bool render_emitted(const struct render *r, size_t idx);
/* Redraws the progress line (no-op unless progress). */
void render_progress(struct render *r, size_t running, double elapsed);
/* Summary line (human only). */
void render_finish(struct render *r, double elapsed);
void render_no_files(const struct render_opts *o);
void render_free(struct render *r);

#endif
