/*
 * summary.h: `provium events summary`: the seed-000 "Practical patterns"
 * at a glance -- completeness, slowest files and tests, time each file
 * spent blocked and why, fixtures built vs restored from cache, VMs and
 * their uptime, crashed and timed-out files.
 */
#ifndef PROVIUM_SUMMARY_H
#define PROVIUM_SUMMARY_H

#include <stdio.h>

#include "events/evrun.h"

#define SUMMARY_TOP 10

/* 0, or -1 on a write error / ENOMEM. */
int summary_print(const struct evrun *r, FILE *out);

#endif
