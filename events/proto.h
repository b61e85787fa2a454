/*
 * proto.h: numbers every process of provium agrees on.
 *
 * Bump PROTOCOL_VERSION if the shape of any event, runner-channel message
 * or agent wire message changes.  It is sent in the agent handshake and
 * folded into fixture cache keys, so a stale agent baked into an image is
 * refused instead of silently misparsing.
 */
#ifndef PROVIUM_PROTO_H
#define PROVIUM_PROTO_H

#define PROTOCOL_VERSION 1u

/* Body caps (the 4-byte header is extra).  Checked before allocating. */
#define FRAME_MAX_EVENT   (128u * 1024 * 1024) /* events + agent traffic */
#define FRAME_MAX_AGENT   FRAME_MAX_EVENT
#define FRAME_MAX_RUNNER  (8u * 1024 * 1024)   /* runner <-> supervisor */

/* The runner's channel to its supervisor is always this fd. */
#define RUNNER_CHANNEL_FD 3

#define PROVIUM_VERSION "0.1.0"

#endif
