/*
 * chanmsg.h: the supervisor's side of the runner channel's messages
 * (docs/runner-channel.md): the `start` frame and the answers to
 * claim/reserve.  Writes go through frame.h; a runner that is gone shows
 * as -1 here (EPIPE) and as EOF on the channel, where it is handled.
 */
#ifndef PROVIUM_CHANMSG_H
#define PROVIUM_CHANMSG_H

#include <stdint.h>

#include "supervisor/cli.h"

/* {t: start, v, path, display, opts{...}} from the command line. */
int chanmsg_start(int fd, const struct cli_opts *o, const char *path,
    const char *display);
/* {t, id[, message]}: claim_ok / claim_err / reserve_ok / reserve_err. */
int chanmsg_answer(int fd, const char *t, uint64_t id, const char *message);

#endif
