/*
 * event.h: the public event model (seeds/001), its encoder and a strict
 * decoder.
 *
 * The stream carries exactly the seed's 17 kinds, every field always
 * present, snake_case names, `kind` as a string and payloads as named maps
 * (upstream consumers reject an unknown kind, a missing field or a nil
 * meta).  Our decoder is as strict as theirs so that round-trip tests
 * catch any drift; unknown payload keys are ignored, as the seed allows.
 */
#ifndef PROVIUM_EVENT_H
#define PROVIUM_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

enum event_kind {
	EVENT_FILE_DISCOVERED,
	EVENT_FILE_DISPATCHED,
	EVENT_FILE_BLOCKED,
	EVENT_FILE_COMPLETED,
	EVENT_TEST_STARTED,
	EVENT_TEST_PASSED,
	EVENT_TEST_FAILED,
	EVENT_TEST_SKIPPED,
	EVENT_VM_SPAWNED,
	EVENT_VM_SHUTDOWN,
	EVENT_POOL_STATE,
	EVENT_CLAIM_ACQUIRED,
	EVENT_CLAIM_RELEASED,
	EVENT_FIXTURE_BUILD_STARTED,
	EVENT_FIXTURE_BUILD_DONE,
	EVENT_FIXTURE_BUILD_WAITING,
	EVENT_FIXTURE_CACHE_HIT,
	EVENT_KIND_COUNT
};

struct resource_amount {
	uint64_t memory_bytes;
	uint32_t cpus;
};

/* MetaValue: a union over native msgpack types; bin is distinct from str. */
enum meta_type {
	META_NULL, META_BOOL, META_INT, META_FLOAT, META_STR, META_BYTES,
	META_ARRAY, META_MAP
};

struct meta_entry;

struct meta_value {
	enum meta_type type;
	union {
		bool b;
		int64_t i;
		double f;
		struct { char *p; size_t n; } s;          /* STR and BYTES; p NUL-terminated */
		struct { struct meta_value *v; size_t n; } arr;
		struct { struct meta_entry *e; size_t n; } map;
	} u;
};

struct meta_entry {
	char *key;          /* NUL-terminated */
	size_t key_len;
	struct meta_value val;
};

/* Converts a msgpack object; -1 (errno EBADMSG) if it is no MetaValue
 * (e.g. ext, a map with non-string keys, an int beyond i64). */
int meta_from_msgpack(const msgpack_object *o, struct meta_value *out);
int meta_pack(msgpack_packer *pk, const struct meta_value *v);
void meta_clear(struct meta_value *v);
int meta_copy(struct meta_value *dst, const struct meta_value *src);
/* Lookup in a META_MAP; NULL if absent or v is no map. */
const struct meta_value *meta_get(const struct meta_value *map, const char *key);

/*
 * One event.  Which members a kind uses follows the seed:
 *   path     path (file_*, test_*, claim_*, fixture_*), file (vm_*)
 *   name     name (test_*), vm_name (vm_*)
 *   amount   reservation, waiting_for, amount (claim_*), used (pool_state)
 *   amount2  available (pool_state)
 * Strings are owned by the event and event_clear() frees them: built by
 * hand, each string, fixture_refs and meta node is its own malloc (arena
 * NULL); decoded by event_decode(), they all live in one block, arena.
 * So never free or replace one member of a decoded event.
 */
struct event {
	int64_t ts;                 /* ns since the epoch */
	enum event_kind kind;
	char *path;
	char *name;
	char *reason;
	char *status;               /* file_completed */
	char *console_excerpt;      /* test_failed */
	char *profile;              /* vm_spawned */
	char *held_by_file;         /* fixture_build_waiting */
	char **fixture_refs;        /* file_discovered */
	size_t nfixture_refs;
	bool has_declared_claim;
	struct resource_amount declared_claim;
	struct resource_amount amount;
	struct resource_amount amount2;
	uint64_t duration_ns;
	uint64_t memory_bytes;      /* vm_spawned */
	uint64_t snapshot_bytes;    /* fixture_build_done */
	uint32_t cid;               /* vm_spawned */
	struct meta_value meta;     /* test_*: always a META_MAP */
	void *arena;                /* event_decode's block, or NULL */
};

const char *event_kind_name(enum event_kind k);
/* -1 if name is not one of the 17 kinds. */
int event_kind_from_name(const char *name, size_t len);

/* file_completed statuses */
#define EVENT_STATUS_PASSED    "passed"
#define EVENT_STATUS_FAILED    "failed"
#define EVENT_STATUS_TIMED_OUT "timed_out"
#define EVENT_STATUS_CRASHED   "crashed"

/* Current CLOCK_REALTIME in ns, for ts. */
int64_t event_now_ns(void);

/* Packs {ts, kind, payload} (exactly the seed's fields). 0 / -1. */
int event_pack(msgpack_packer *pk, const struct event *ev);
/* Packs into a fresh sbuffer (caller destroys it). */
int event_encode(const struct event *ev, msgpack_sbuffer *sb);

/*
 * Strict decode of one frame body (already a map).  On -1, err holds a
 * message naming the kind and field.  ev is zeroed first; call
 * event_clear() after success.
 */
int event_decode(const msgpack_object *frame, struct event *ev, char *err,
    size_t errlen);
void event_clear(struct event *ev);

#endif
