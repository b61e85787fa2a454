/*
 * bridge_lua.c: provium:bridge and its objects (see bridge.h).
 *
 * The policy (partitions, isolation, impairments, by VM name) lives here;
 * the switch only stores one record per (from, to) and applies it.  Each
 * record here keeps its reasons apart (partition, isolation,
 * partition_all) so that undoing one never undoes another, and is pushed
 * to the switch whole after every change.
 */
#include "runner/bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "runner/vm_api.h"
#include "vm/switch.h"

#define REG_VMS    "provium.bridge.vms"     /* weak vm ud -> {bridge ud...} */
#define REG_SCOPES "provium.bridge.scopes"  /* {file = {...}, test = {...}} */
#define REG_PREV   "provium.bridge.lookup"  /* the lab lookup we wrap */
#define REG_COUNT  "provium.bridge.count"
/* runner/lab.c's registry key for the lab.<name> lookup function. */
#define LAB_LOOKUP_KEY "provium.lab.lookup"
#define MAX_RULES  256
#define WILD       SW_WILDCARD

struct member {
	char name[SW_NAME_MAX];
	char path[SW_PATH_MAX];
	uint8_t mac[6];
	unsigned host;
	bool attached;
	bool link_down;
};

struct brule {
	char from[SW_NAME_MAX], to[SW_NAME_MAX];
	bool part, iso, all;
	struct sw_rule imp;         /* .block unused: the reasons above */
};

struct bridge {
	bool closed;
	char name[SW_NAME_MAX];
	char dir[SW_PATH_MAX];
	char cap_path[SW_PATH_MAX + 16];
	bool capturing, seed_told, seed_from_opts;
	struct sw *sw;
	uint64_t seed;
	uint8_t net[3];
	struct member m[SW_MAX_PORTS];
	unsigned nm;
	struct brule rules[MAX_RULES];
	size_t nrules;
};

struct nic {
	char vm[SW_NAME_MAX];       /* bridge ud in user value 1 */
};

struct capture {
	bool stopped;               /* bridge ud in user value 1 */
};

static struct bridge *
check_open(lua_State *L, int idx)
{
	struct bridge *b = luaL_checkudata(L, idx, BRIDGE_MT);

	if (b->closed)
		vmapi_raisef(L, "bridge `%s` is closed", b->name);
	return b;
}

static void
raise_err(lua_State *L, struct bridge *b, char *err)
{
	char *msg = NULL;

	if (asprintf(&msg, "bridge `%s`: %s", b->name, err ? err : "?") < 0)
		msg = NULL;
	free(err);
	vmapi_raise(L, msg);
}

static struct member *
find_member(struct bridge *b, const char *name)
{
	for (unsigned i = 0; i < b->nm; i++)
		if (strcmp(b->m[i].name, name) == 0)
			return &b->m[i];
	return NULL;
}

/* A VM userdata or a name string at idx: its name (valid while idx is). */
static const char *
endpoint(lua_State *L, struct bridge *b, int idx, const char *op)
{
	struct vmapi_vm *vm = luaL_testudata(L, idx, VMAPI_VM_MT);

	if (vm)
		return vm->name;
	if (lua_type(L, idx) == LUA_TSTRING && lua_rawlen(L, idx) > 0 &&
	    lua_rawlen(L, idx) < SW_NAME_MAX &&
	    strcmp(lua_tostring(L, idx), WILD) != 0)
		return lua_tostring(L, idx);
	vmapi_raisef(L, "bridge `%s`: %s: expected a vm or a vm name, got %s",
	    b->name, op, luaL_typename(L, idx));
}

static const char *
attached_endpoint(lua_State *L, struct bridge *b, int idx, const char *op)
{
	const char *n = endpoint(L, b, idx, op);
	struct member *m = find_member(b, n);

	if (!m || !m->attached)
		vmapi_raisef(L, "bridge `%s`: %s: vm `%s` is not attached",
		    b->name, op, n);
	return n;
}

/* ---- rules ------------------------------------------------------------ */

static struct brule *
rule_get(lua_State *L, struct bridge *b, const char *from, const char *to)
{
	struct brule *r;

	for (size_t i = 0; i < b->nrules; i++)
		if (strcmp(b->rules[i].from, from) == 0 &&
		    strcmp(b->rules[i].to, to) == 0)
			return &b->rules[i];
	if (b->nrules == MAX_RULES)
		vmapi_raisef(L, "bridge `%s`: more than %d rules", b->name,
		    MAX_RULES);
	r = &b->rules[b->nrules++];
	memset(r, 0, sizeof(*r));
	snprintf(r->from, sizeof(r->from), "%s", from);
	snprintf(r->to, sizeof(r->to), "%s", to);
	return r;
}

static const struct brule *
rule_peek(const struct bridge *b, const char *from, const char *to)
{
	for (size_t i = 0; i < b->nrules; i++)
		if (strcmp(b->rules[i].from, from) == 0 &&
		    strcmp(b->rules[i].to, to) == 0)
			return &b->rules[i];
	return NULL;
}

static void
rule_push(lua_State *L, struct bridge *b, const struct brule *r)
{
	struct sw_rule s = r->imp;
	char *err = NULL;

	s.block = r->part || r->iso || r->all;
	if (sw_set_rule(b->sw, r->from, r->to, &s, &err) != 0)
		raise_err(L, b, err);
}

/* {from=, to=} at idx (a table that is not a VM): 1 and the names. */
static int
directional(lua_State *L, struct bridge *b, int idx, const char *op,
    const char **from, const char **to)
{
	if (!lua_istable(L, idx))
		return 0;
	lua_getfield(L, idx, "from");
	lua_getfield(L, idx, "to");
	if (lua_isnil(L, -2) || lua_isnil(L, -1))
		vmapi_raisef(L, "bridge `%s`: %s{from=, to=}: both from and to "
		    "are required", b->name, op);
	*from = attached_endpoint(L, b, lua_gettop(L) - 1, op);
	*to = attached_endpoint(L, b, lua_gettop(L), op);
	return 1;   /* the two values stay on the stack, anchoring the names */
}

static int
br_partition_set(lua_State *L, bool on)
{
	struct bridge *b = check_open(L, 1);
	const char *op = on ? "partition" : "unpartition", *x, *y;

	if (directional(L, b, 2, op, &x, &y)) {
		rule_get(L, b, x, y)->part = on;
		rule_push(L, b, rule_get(L, b, x, y));
		return 0;
	}
	x = endpoint(L, b, 2, op);
	y = endpoint(L, b, 3, op);
	if (strcmp(x, y) == 0)
		vmapi_raisef(L, "bridge `%s`: %s: `%s` with itself", b->name, op,
		    x);
	rule_get(L, b, x, y)->part = on;
	rule_get(L, b, y, x)->part = on;
	rule_push(L, b, rule_get(L, b, x, y));
	rule_push(L, b, rule_get(L, b, y, x));
	return 0;
}

static int br_partition(lua_State *L) { return br_partition_set(L, true); }
static int br_unpartition(lua_State *L) { return br_partition_set(L, false); }

static bool
parted(const struct bridge *b, const char *x, const char *y)
{
	const struct brule *r = rule_peek(b, x, y), *all = rule_peek(b, WILD, WILD);

	return (r && r->part) || (all && all->all);
}

static int
br_is_partitioned(lua_State *L)
{
	struct bridge *b = check_open(L, 1);
	const char *x, *y;

	if (directional(L, b, 2, "is_partitioned", &x, &y)) {
		lua_pushboolean(L, parted(b, x, y));
		return 1;
	}
	x = endpoint(L, b, 2, "is_partitioned");
	y = endpoint(L, b, 3, "is_partitioned");
	lua_pushboolean(L, parted(b, x, y) || parted(b, y, x));
	return 1;
}

static int
br_all(lua_State *L, bool on)
{
	struct bridge *b = check_open(L, 1);
	struct brule *r = rule_get(L, b, WILD, WILD);

	r->all = on;
	rule_push(L, b, r);
	return 0;
}

static int br_partition_all(lua_State *L) { return br_all(L, true); }
static int br_restore_all(lua_State *L) { return br_all(L, false); }

static int
br_isolate_set(lua_State *L, bool on)
{
	struct bridge *b = check_open(L, 1);
	const char *n = endpoint(L, b, 2, on ? "isolate" : "unisolate");

	rule_get(L, b, n, WILD)->iso = on;
	rule_get(L, b, WILD, n)->iso = on;
	rule_push(L, b, rule_get(L, b, n, WILD));
	rule_push(L, b, rule_get(L, b, WILD, n));
	return 0;
}

static int br_isolate(lua_State *L) { return br_isolate_set(L, true); }
static int br_unisolate(lua_State *L) { return br_isolate_set(L, false); }

static int
br_is_isolated(lua_State *L)
{
	struct bridge *b = check_open(L, 1);
	const struct brule *r = rule_peek(b, endpoint(L, b, 2, "is_isolated"),
	    WILD);

	lua_pushboolean(L, r && r->iso);
	return 1;
}

enum imp { IMP_LATENCY, IMP_DROP, IMP_BPS };

static double
num_arg(lua_State *L, struct bridge *b, int idx, const char *op,
    const char *what)
{
	if (lua_type(L, idx) != LUA_TNUMBER || lua_tonumber(L, idx) < 0 ||
	    lua_tonumber(L, idx) != lua_tonumber(L, idx))
		vmapi_raisef(L, "bridge `%s`: %s: %s must be a number >= 0",
		    b->name, op, what);
	return lua_tonumber(L, idx);
}

static void
tell_seed(struct bridge *b)
{
	if (b->seed_told)
		return;
	b->seed_told = true;
	if (b->seed_from_opts)
		fprintf(stderr, "provium: bridge `%s`: random drops use seed %"
		    PRIu64 " (opts.seed)\n", b->name, b->seed);
	else
		fprintf(stderr, "provium: bridge `%s`: random drops use seed %"
		    PRIu64 " (replay: provium --seed %" PRIu64 ")\n", b->name,
		    b->seed, b->seed);
}

static int
br_impair(lua_State *L, enum imp k, const char *op, bool need_dir)
{
	static const char *const key[] = { "ms", "p", "bps" };
	struct bridge *b = check_open(L, 1);
	const char *from = WILD, *to = WILD;
	struct brule *r;
	double v;
	int vi = 2;

	if (directional(L, b, 2, op, &from, &to)) {
		lua_getfield(L, 2, key[k]);
		vi = lua_gettop(L);
	} else if (need_dir) {
		vmapi_raisef(L, "bridge `%s`: %s{from=, to=, %s=}: a table is "
		    "required", b->name, op, key[k]);
	}
	v = num_arg(L, b, vi, op, vi == 2 ? "the value" : key[k]);
	r = rule_get(L, b, from, to);
	switch (k) {
	case IMP_LATENCY:
		if (v > 3600000)
			vmapi_raisef(L, "bridge `%s`: %s: %g ms is more than an "
			    "hour", b->name, op, v);
		r->imp.latency_us = (uint32_t)(v * 1000 + 0.5);
		break;
	case IMP_DROP:
		if (v > 100)
			v = 100;
		r->imp.drop_ppm = (uint32_t)(v * 10000 + 0.5);
		if (r->imp.drop_ppm)
			tell_seed(b);
		break;
	case IMP_BPS:
		r->imp.bps = (uint64_t)v;
		break;
	}
	rule_push(L, b, r);
	return 0;
}

static int br_add_latency(lua_State *L)
{ return br_impair(L, IMP_LATENCY, "add_latency", false); }
static int br_drop_rate(lua_State *L)
{ return br_impair(L, IMP_DROP, "drop_rate", false); }
static int br_bandwidth_limit(lua_State *L)
{ return br_impair(L, IMP_BPS, "bandwidth_limit", false); }
static int br_dir_latency(lua_State *L)
{ return br_impair(L, IMP_LATENCY, "add_directional_latency", true); }
static int br_dir_drop(lua_State *L)
{ return br_impair(L, IMP_DROP, "directional_drop_rate", true); }

static int
br_reset(lua_State *L)
{
	struct bridge *b = check_open(L, 1);

	for (size_t i = 0; i < b->nrules; i++) {
		struct brule *r = &b->rules[i];

		r->part = r->all = false;
		memset(&r->imp, 0, sizeof(r->imp));
		rule_push(L, b, r);
	}
	return 0;
}

static int
br_getter(lua_State *L, enum imp k)
{
	struct bridge *b = check_open(L, 1);
	const struct brule *r = rule_peek(b, WILD, WILD);

	if (k == IMP_LATENCY)
		lua_pushnumber(L, r ? r->imp.latency_us / 1000.0 : 0);
	else if (k == IMP_DROP)
		lua_pushnumber(L, r ? r->imp.drop_ppm / 10000.0 : 0);
	else
		lua_pushinteger(L, r ? (lua_Integer)r->imp.bps : 0);
	return 1;
}

static int br_latency_ms(lua_State *L) { return br_getter(L, IMP_LATENCY); }
static int br_drop_rate_pct(lua_State *L) { return br_getter(L, IMP_DROP); }
static int br_bandwidth_bps(lua_State *L) { return br_getter(L, IMP_BPS); }

/* ---- membership -------------------------------------------------------- */

/* Pushes the VM userdata for the endpoint at idx (looked up by name in the
 * current lab if a string); raises "no vm named ..." like lab:vm. */
static struct vmapi_vm *
push_vm(lua_State *L, int idx)
{
	struct vmapi_vm *vm = luaL_testudata(L, idx, VMAPI_VM_MT);

	if (vm) {
		lua_pushvalue(L, idx);
		return vm;
	}
	runner_push_current_lab(L, runner_from_lua(L));
	lua_getfield(L, -1, "vm");
	lua_insert(L, -2);
	lua_pushvalue(L, idx);
	lua_call(L, 2, 1);
	return vmapi_check_vm(L, -1);
}

static void
vms_list_add(lua_State *L, int vm_idx, int br_idx)
{
	vm_idx = lua_absindex(L, vm_idx);
	br_idx = lua_absindex(L, br_idx);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_VMS);
	lua_pushvalue(L, vm_idx);
	if (lua_rawget(L, -2) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, vm_idx);
		lua_pushvalue(L, -2);
		lua_rawset(L, -4);
	}
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
		bool same = lua_rawequal(L, -1, br_idx);

		lua_pop(L, 1);
		if (same) {
			lua_pop(L, 2);
			return;
		}
	}
	lua_pop(L, 1);
	lua_pushvalue(L, br_idx);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	lua_pop(L, 2);
}

/* The VM that last attached under name to the bridge at index 1 (a VM
 * of an earlier test may have held the name), or NULL. */
static struct vmapi_vm *
member_vm(lua_State *L, const char *name)
{
	struct vmapi_vm *old;

	lua_getiuservalue(L, 1, 1);
	lua_getfield(L, -1, name);
	old = luaL_testudata(L, -1, VMAPI_VM_MT);
	lua_pop(L, 2);   /* still referenced by the table */
	return old;
}

static bool
member_vm_is(lua_State *L, const struct vmapi_vm *vm)
{
	return member_vm(L, vm->name) == vm;
}

/* A new VM may take over the port of an earlier VM of the same name that
 * is no longer running (VMs of one name only follow each other). */
static bool
replaces(lua_State *L, const struct vmapi_vm *vm)
{
	const struct vmapi_vm *old = member_vm(L, vm->name);

	return old && old != vm && old->state != VMAPI_BOOTED &&
	    old->state != VMAPI_PAUSED;
}

static int
br_attach(lua_State *L)
{
	struct bridge *b = check_open(L, 1);
	int top = lua_gettop(L), list, n = 0;
	char *err = NULL;

	/* Pass 1: flatten and resolve every argument; raise before changing
	 * anything (all-or-nothing). */
	lua_newtable(L);
	list = lua_gettop(L);
	for (int i = 2; i <= top; i++) {
		if (lua_istable(L, i)) {
			for (lua_Integer k = 1; lua_rawgeti(L, i, k) != LUA_TNIL;
			    k++) {
				push_vm(L, lua_gettop(L));
				lua_rawseti(L, list, ++n);
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		} else {
			push_vm(L, i);
			lua_rawseti(L, list, ++n);
		}
	}
	if (n == 0)
		vmapi_raisef(L, "bridge `%s`: attach: no vm given", b->name);
	for (int i = 1; i <= n; i++) {
		struct vmapi_vm *vm;
		struct member *m;

		lua_rawgeti(L, list, i);
		vm = vmapi_check_vm(L, -1);
		m = find_member(b, vm->name);
		if (m && m->attached && !replaces(L, vm))
			vmapi_raisef(L, "bridge `%s`: attach: vm `%s` is already "
			    "attached", b->name, vm->name);
		for (int j = 1; j < i; j++) {
			lua_rawgeti(L, list, j);
			if (lua_rawequal(L, -1, -2))
				vmapi_raisef(L, "bridge `%s`: attach: vm `%s` is "
				    "given twice", b->name, vm->name);
			lua_pop(L, 1);
		}
		if (vm->state != VMAPI_CREATED && !(m && !m->attached &&
		    member_vm_is(L, vm)))
			vmapi_raisef(L, "bridge `%s`: attach: vm `%s` is already "
			    "booted; attach it before vm:boot()", b->name,
			    vm->name);
		if (strlen(vm->name) >= SW_NAME_MAX || strcmp(vm->name, WILD) == 0)
			vmapi_raisef(L, "bridge `%s`: attach: vm name `%s` "
			    "cannot be used on a bridge", b->name, vm->name);
		lua_pop(L, 1);
	}
	if (b->nm + (unsigned)n > SW_MAX_PORTS)
		vmapi_raisef(L, "bridge `%s`: attach: more than %u vms", b->name,
		    SW_MAX_PORTS);
	/* Pass 2: apply. */
	for (int i = 1; i <= n; i++) {
		struct vmapi_vm *vm;
		struct member *m;

		lua_rawgeti(L, list, i);
		vm = vmapi_check_vm(L, -1);
		if ((m = find_member(b, vm->name)) != NULL) {
			if (sw_set_link(b->sw, m->name, true, &err) != 0)
				raise_err(L, b, err);
			m->attached = true;
			m->link_down = false;
		} else {
			m = &b->m[b->nm];
			memset(m, 0, sizeof(*m));
			snprintf(m->name, sizeof(m->name), "%s", vm->name);
			if (sw_add_port(b->sw, m->name, m->path, m->mac, &err) != 0)
				raise_err(L, b, err);
			m->host = ++b->nm;
			m->attached = true;
		}
		vms_list_add(L, -1, 1);
		lua_getiuservalue(L, 1, 1);
		lua_pushvalue(L, -2);
		lua_setfield(L, -2, vm->name);
		lua_pop(L, 2);
	}
	lua_settop(L, 1);
	return 1;
}

static int
br_detach(lua_State *L)
{
	struct bridge *b = check_open(L, 1);
	const char *n = attached_endpoint(L, b, 2, "detach");
	struct member *m = find_member(b, n);
	char *err = NULL;

	if (sw_set_link(b->sw, n, false, &err) != 0)
		raise_err(L, b, err);
	m->attached = false;
	m->link_down = true;
	return 0;
}

static int
br_members(lua_State *L)
{
	struct bridge *b = check_open(L, 1);
	lua_Integer k = 0;

	lua_newtable(L);
	for (unsigned i = 0; i < b->nm; i++) {
		if (!b->m[i].attached)
			continue;
		lua_pushstring(L, b->m[i].name);
		lua_rawseti(L, -2, ++k);
	}
	return 1;
}

/* ---- NIC --------------------------------------------------------------- */

static void
push_nic(lua_State *L, int br_idx, const char *vm)
{
	struct bridge *b = check_open(L, br_idx);
	struct member *m = find_member(b, vm);
	struct nic *n;

	if (!m || !m->attached)
		vmapi_raisef(L, "bridge `%s`: vm `%s` is not attached", b->name,
		    vm);
	br_idx = lua_absindex(L, br_idx);
	n = lua_newuserdatauv(L, sizeof(*n), 1);
	snprintf(n->vm, sizeof(n->vm), "%s", vm);
	lua_pushvalue(L, br_idx);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, BRIDGE_NIC_MT);
}

static int
br_nic(lua_State *L)
{
	struct bridge *b = check_open(L, 1);

	push_nic(L, 1, endpoint(L, b, 2, "nic"));
	return 1;
}

static struct nic *
nic_get(lua_State *L, struct bridge **b, struct member **m)
{
	struct nic *n = luaL_checkudata(L, 1, BRIDGE_NIC_MT);

	lua_getiuservalue(L, 1, 1);
	*b = check_open(L, -1);
	lua_pop(L, 1);   /* anchored by the NIC's user value */
	*m = find_member(*b, n->vm);
	return n;
}

static int
nic_counters(lua_State *L)
{
	struct bridge *b;
	struct member *m;
	struct nic *n = nic_get(L, &b, &m);
	struct sw_counters c;
	char *err = NULL;

	if (sw_counters(b->sw, n->vm, &c, &err) != 0)
		raise_err(L, b, err);
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, (lua_Integer)c.rx_bytes);
	lua_setfield(L, -2, "rx_bytes");
	lua_pushinteger(L, (lua_Integer)c.tx_bytes);
	lua_setfield(L, -2, "tx_bytes");
	lua_pushinteger(L, (lua_Integer)c.rx_packets);
	lua_setfield(L, -2, "rx_packets");
	lua_pushinteger(L, (lua_Integer)c.tx_packets);
	lua_setfield(L, -2, "tx_packets");
	lua_pushinteger(L, (lua_Integer)c.errors);
	lua_setfield(L, -2, "errors");
	lua_pushinteger(L, (lua_Integer)c.dropped);
	lua_setfield(L, -2, "dropped");
	return 1;
}

static int
nic_link(lua_State *L, bool up)
{
	struct bridge *b;
	struct member *m;
	struct nic *n = nic_get(L, &b, &m);
	char *err = NULL;

	if (!m || !m->attached)
		vmapi_raisef(L, "bridge `%s`: vm `%s` is not attached", b->name,
		    n->vm);
	if (sw_set_link(b->sw, n->vm, up, &err) != 0)
		raise_err(L, b, err);
	m->link_down = !up;
	return 0;
}

static int nic_disconnect(lua_State *L) { return nic_link(L, false); }
static int nic_reconnect(lua_State *L) { return nic_link(L, true); }

static int
nic_ip(lua_State *L)
{
	struct bridge *b;
	struct member *m;

	nic_get(L, &b, &m);
	lua_pushfstring(L, "%d.%d.%d.%d", b->net[0], b->net[1], b->net[2],
	    (int)m->host);
	return 1;
}

static void
push_mac(lua_State *L, const uint8_t *mac)
{
	char s[18];

	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
	    mac[2], mac[3], mac[4], mac[5]);
	lua_pushstring(L, s);
}

static int
nic_mac(lua_State *L)
{
	struct bridge *b;
	struct member *m;

	nic_get(L, &b, &m);
	push_mac(L, m->mac);
	return 1;
}

static int
nic_vm_name(lua_State *L)
{
	lua_pushstring(L, ((struct nic *)luaL_checkudata(L, 1,
	    BRIDGE_NIC_MT))->vm);
	return 1;
}

static int
nic_bridge(lua_State *L)
{
	luaL_checkudata(L, 1, BRIDGE_NIC_MT);
	lua_getiuservalue(L, 1, 1);
	return 1;
}

/* ---- capture ----------------------------------------------------------- */

static int
br_capture(lua_State *L)
{
	struct bridge *b = check_open(L, 1);
	struct capture *c;
	char *err = NULL;

	if (!b->capturing) {
		if (sw_capture(b->sw, b->cap_path, &err) != 0)
			raise_err(L, b, err);
		b->capturing = true;
	}
	c = lua_newuserdatauv(L, sizeof(*c), 1);
	c->stopped = false;
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, BRIDGE_CAP_MT);
	return 1;
}

static int
cap_bytes(lua_State *L)
{
	luaL_Buffer lb;
	struct bridge *b;
	FILE *f;
	size_t n;

	luaL_checkudata(L, 1, BRIDGE_CAP_MT);
	lua_getiuservalue(L, 1, 1);
	b = luaL_checkudata(L, -1, BRIDGE_MT);
	if (b->closed || !(f = fopen(b->cap_path, "rb")))
		vmapi_raisef(L, "bridge `%s`: capture: nothing captured (%s)",
		    b->name, b->closed ? "bridge closed" : strerror(errno));
	luaL_buffinit(L, &lb);
	do {
		char *p = luaL_prepbuffer(&lb);

		n = fread(p, 1, LUAL_BUFFERSIZE, f);
		luaL_addsize(&lb, n);
	} while (n == LUAL_BUFFERSIZE);
	fclose(f);
	luaL_pushresult(&lb);
	return 1;
}

static int
cap_stop(lua_State *L)
{
	struct capture *c = luaL_checkudata(L, 1, BRIDGE_CAP_MT);
	struct bridge *b;
	char *err = NULL;

	lua_getiuservalue(L, 1, 1);
	b = luaL_checkudata(L, -1, BRIDGE_MT);
	if (!c->stopped && !b->closed && b->capturing) {
		if (sw_capture(b->sw, NULL, &err) != 0)
			raise_err(L, b, err);
		b->capturing = false;
	}
	c->stopped = true;
	lua_settop(L, 1);
	return cap_bytes(L);
}

static int
cap_path(lua_State *L)
{
	luaL_checkudata(L, 1, BRIDGE_CAP_MT);
	lua_getiuservalue(L, 1, 1);
	lua_pushstring(L, ((struct bridge *)luaL_checkudata(L, -1,
	    BRIDGE_MT))->cap_path);
	return 1;
}

/* ---- lifecycle --------------------------------------------------------- */

static void
bridge_free(struct bridge *b)
{
	if (b->closed)
		return;
	b->closed = true;
	sw_stop(b->sw);   /* unlinks the port sockets */
	b->sw = NULL;
	unlink(b->cap_path);
	if (rmdir(b->dir) != 0 && errno != ENOENT)
		fprintf(stderr, "provium: bridge `%s`: cannot remove %s: %s\n",
		    b->name, b->dir, strerror(errno));
}

static int
br_gc(lua_State *L)
{
	bridge_free(luaL_checkudata(L, 1, BRIDGE_MT));
	return 0;
}

static int
br_name(lua_State *L)
{
	lua_pushstring(L, ((struct bridge *)luaL_checkudata(L, 1,
	    BRIDGE_MT))->name);
	return 1;
}

static int
br_seed(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)((struct bridge *)luaL_checkudata(L, 1,
	    BRIDGE_MT))->seed);
	return 1;
}

static int
br_subnet(lua_State *L)
{
	struct bridge *b = luaL_checkudata(L, 1, BRIDGE_MT);

	lua_pushfstring(L, "%d.%d.%d.0/24", b->net[0], b->net[1], b->net[2]);
	return 1;
}

static int
br_tostring(lua_State *L)
{
	struct bridge *b = luaL_checkudata(L, 1, BRIDGE_MT);
	unsigned n = 0;

	for (unsigned i = 0; i < b->nm; i++)
		n += b->m[i].attached;
	lua_pushfstring(L, "bridge(%s members=%d%s)", b->name, (int)n,
	    b->closed ? " closed" : "");
	return 1;
}

/* Pushes the bridge named name in the lab at idx or a parent, or nil. */
static void
find_bridge(lua_State *L, int idx, const char *name, int *depth)
{
	runner_lab_find(L, idx, "bridges", name, depth);
}

static int
parse_subnet(const char *s, uint8_t net[3])
{
	unsigned a, b, c, d, len;
	char end;

	if (sscanf(s, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &len, &end) != 5 ||
	    a > 255 || b > 255 || c > 255 || d != 0 || len != 24)
		return -1;
	net[0] = (uint8_t)a;
	net[1] = (uint8_t)b;
	net[2] = (uint8_t)c;
	return 0;
}

static void
bridge_opts(lua_State *L, int idx, struct bridge *b)
{
	const char *env = getenv("PROVIUM_SEED");
	lua_Integer count;

	lua_getfield(L, LUA_REGISTRYINDEX, REG_COUNT);
	count = lua_tointeger(L, -1) + 1;
	lua_pop(L, 1);
	lua_pushinteger(L, count);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_COUNT);
	b->net[0] = 10;
	b->net[1] = 77;
	b->net[2] = (uint8_t)count;
	if (env && *env)
		b->seed = strtoull(env, NULL, 0);
	else if (getrandom(&b->seed, sizeof(b->seed), 0) != sizeof(b->seed))
		b->seed = (uint64_t)getpid() ^ (uint64_t)time(NULL);
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ?
		    lua_tostring(L, -2) : "?";

		if (strcmp(k, "seed") != 0 && strcmp(k, "subnet") != 0)
			vmapi_raisef(L, "bridge `%s`: unknown option `%s` "
			    "(known: seed, subnet)", b->name, k);
		lua_pop(L, 1);
	}
	if (lua_getfield(L, idx, "seed") != LUA_TNIL) {
		if (!lua_isinteger(L, -1))
			vmapi_raisef(L, "bridge `%s`: seed must be an integer",
			    b->name);
		b->seed = (uint64_t)lua_tointeger(L, -1);
		b->seed_from_opts = true;
	}
	if (lua_getfield(L, idx, "subnet") != LUA_TNIL &&
	    (!lua_isstring(L, -1) || parse_subnet(lua_tostring(L, -1), b->net)))
		vmapi_raisef(L, "bridge `%s`: subnet must look like "
		    "\"10.1.2.0/24\" (only /24)", b->name);
	lua_pop(L, 2);
}

static void
track(lua_State *L, int idx)
{
	struct runner *r = runner_from_lua(L);

	idx = lua_absindex(L, idx);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SCOPES);
	lua_getfield(L, -1, runner_current_test(r) ? "test" : "file");
	lua_pushvalue(L, idx);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	lua_pop(L, 2);
}

static int
lab_bridge(lua_State *L)
{
	const char *name, *tmp = getenv("TMPDIR");
	struct bridge *b;
	int depth, top = lua_gettop(L);
	char *err = NULL;

	if (!runner_lab_test(L, 1))
		return luaL_error(L, "lab:bridge(name, [opts]): call it with a "
		    "colon (provium:bridge(...))");
	name = luaL_checkstring(L, 2);
	find_bridge(L, 1, name, &depth);
	if (top == 2) {
		if (lua_isnil(L, -1))
			vmapi_raisef(L, "no bridge named `%s` in this lab", name);
		return 1;
	}
	if (!lua_isnil(L, -1))
		vmapi_raisef(L, depth == 0 ? "bridge name `%s` already used in "
		    "this lab" : "bridge name `%s` already declared at a parent "
		    "scope", name);
	lua_pop(L, 1);
	if (!*name || strlen(name) > 32 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-") != strlen(name))
		vmapi_raisef(L, "bridge name `%s`: use 1 to 32 of [A-Za-z0-9_-]",
		    name);
	lua_settop(L, 3);
	b = lua_newuserdatauv(L, sizeof(*b), 1);
	memset(b, 0, sizeof(*b));
	b->closed = true;   /* until the switch runs: __gc has nothing to do */
	luaL_setmetatable(L, BRIDGE_MT);
	snprintf(b->name, sizeof(b->name), "%s", name);
	bridge_opts(L, 3, b);
	/* Port paths must fit sun_path: fall back to /tmp for long TMPDIRs. */
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(b->dir, sizeof(b->dir), "%s/provium-net-XXXXXX", tmp);
	if (!mkdtemp(b->dir))
		vmapi_raisef(L, "bridge `%s`: cannot create %s: %s", name,
		    b->dir, strerror(errno));
	snprintf(b->cap_path, sizeof(b->cap_path), "%s/capture.pcap", b->dir);
	if (sw_start(name, b->dir, b->seed, &b->sw, &err) != 0) {
		rmdir(b->dir);
		raise_err(L, b, err);
	}
	b->closed = false;
	lua_newtable(L);                 /* member name -> its current VM */
	lua_setiuservalue(L, 4, 1);
	runner_lab_push_data(L, 1);
	if (lua_getfield(L, -1, "bridges") != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, -3, "bridges");
	}
	lua_pushvalue(L, 4);
	lua_setfield(L, -2, name);
	lua_pop(L, 2);
	track(L, 4);
	return 1;
}

static int
br_close(lua_State *L)
{
	bridge_free(luaL_checkudata(L, 1, BRIDGE_MT));
	return 0;
}

/* lab.<name>: VM first (the wrapped lookup), then bridge. */
static int
lab_lookup(lua_State *L)
{
	int depth;

	lua_getfield(L, LUA_REGISTRYINDEX, REG_PREV);
	if (!lua_isnil(L, -1)) {
		lua_pushvalue(L, 1);
		lua_pushvalue(L, 2);
		lua_call(L, 2, 1);
		if (!lua_isnil(L, -1))
			return 1;
	}
	if (lua_type(L, 2) != LUA_TSTRING) {
		lua_pushnil(L);
		return 1;
	}
	find_bridge(L, 1, lua_tostring(L, 2), &depth);
	return 1;
}

/* vm:nic(bridge | bridge name) */
static int
vm_nic(lua_State *L)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, 1);
	int depth;

	if (lua_type(L, 2) == LUA_TSTRING) {
		const char *bn = lua_tostring(L, 2);

		runner_push_current_lab(L, runner_from_lua(L));
		find_bridge(L, lua_gettop(L), bn, &depth);
		if (lua_isnil(L, -1))
			vmapi_raisef(L, "vm `%s`: nic: no bridge named `%s` in "
			    "this lab", vm->name, bn);
		lua_replace(L, 2);
	}
	luaL_checkudata(L, 2, BRIDGE_MT);
	push_nic(L, 2, vm->name);
	return 1;
}

/* ---- vm:boot hooks ----------------------------------------------------- */

/* Pushes the array of bridges the VM at vm_idx is attached to, or nil. */
static int
push_vm_bridges(lua_State *L, int vm_idx)
{
	vm_idx = lua_absindex(L, vm_idx);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_VMS);
	lua_pushvalue(L, vm_idx);
	lua_rawget(L, -2);
	lua_remove(L, -2);
	return lua_istable(L, -1);
}

void
bridge_boot_nics(lua_State *L, int vm_idx, struct vmm_boot_opts *o)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, vm_idx);
	const char *vmm = runner_opts(runner_from_lua(L))->vmm;
	struct vmm_nic *nics;
	size_t n = 0, cap;
	int list;

	if (!push_vm_bridges(L, vm_idx)) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return;
	}
	list = lua_gettop(L);
	cap = lua_rawlen(L, list);
	/* The ids live in the array too: "n<k>" fits the 8 bytes after it. */
	nics = lua_newuserdatauv(L, (cap ? cap : 1) * (sizeof(*nics) + 8), 0);
	for (size_t i = 0; i < cap; i++) {
		struct bridge *b;
		struct member *m;
		char *id = (char *)(nics + cap) + 8 * n;

		lua_rawgeti(L, list, (lua_Integer)i + 1);
		b = luaL_checkudata(L, -1, BRIDGE_MT);
		lua_pop(L, 1);   /* anchored by the list */
		if (b->closed || !(m = find_member(b, vm->name)) || !m->attached)
			continue;
		if (vmm && strcmp(vmm, "local") == 0)
			vmapi_raisef(L, "vm `%s`: boot: bridge `%s` needs the "
			    "qemu backend (--vmm local has no network devices)",
			    vm->name, b->name);
		snprintf(id, 8, "n%zu", n);
		nics[n].id = id;
		nics[n].socket = m->path;
		memcpy(nics[n].mac, m->mac, 6);
		n++;
	}
	lua_remove(L, list);
	o->nics = nics;
	o->nnics = n;
}

void
bridge_vm_booted(lua_State *L, int vm_idx)
{
	struct vmapi_vm *vm = vmapi_check_vm(L, vm_idx);
	luaL_Buffer sb;
	int list, top = lua_gettop(L);
	size_t n;

	vm_idx = lua_absindex(L, vm_idx);
	if (!push_vm_bridges(L, vm_idx)) {
		lua_settop(L, top);
		return;
	}
	list = lua_gettop(L);
	luaL_buffinit(L, &sb);
	/* insmod fails harmlessly when a module is loaded or built in. */
	luaL_addstring(&sb,
	    "for m in failover net_failover virtio_net; do "
	    "[ -f /lib/modules/provium/$m.ko ] && "
	    "insmod /lib/modules/provium/$m.ko 2>/dev/null; done\n"
	    "cfg() { for i in /sys/class/net/*; do "
	    "[ \"$(cat $i/address 2>/dev/null)\" = \"$1\" ] || continue; "
	    "d=${i##*/}; "
	    "echo 1 >/proc/sys/net/ipv6/conf/$d/disable_ipv6 2>/dev/null; "
	    /* replace, not add: a restored guest already has it */
	    "ip addr replace $2/24 dev $d && ip link set $d up; return; done; "
	    "echo \"no network interface with MAC $1 in the guest (is "
	    "virtio_net in the profile's modules?)\" >&2; return 1; }\n"
	    "true");
	n = lua_rawlen(L, list);
	for (size_t i = 0; i < n; i++) {
		struct bridge *b;
		struct member *m;
		char line[128];

		lua_rawgeti(L, list, (lua_Integer)i + 1);
		b = luaL_checkudata(L, -1, BRIDGE_MT);
		lua_pop(L, 1);
		if (b->closed || !(m = find_member(b, vm->name)) || !m->attached)
			continue;
		snprintf(line, sizeof(line), " && cfg %02x:%02x:%02x:%02x:%02x:%02x"
		    " %d.%d.%d.%u", m->mac[0], m->mac[1], m->mac[2], m->mac[3],
		    m->mac[4], m->mac[5], b->net[0], b->net[1], b->net[2],
		    m->host);
		luaL_addstring(&sb, line);
	}
	luaL_pushresult(&sb);
	lua_getfield(L, vm_idx, "run");
	lua_pushvalue(L, vm_idx);
	lua_pushvalue(L, -3);
	lua_call(L, 2, 1);
	lua_getfield(L, -1, "exit_code");
	if (lua_tointeger(L, -1) != 0) {
		lua_getfield(L, -2, "stderr");
		vmapi_raisef(L, "vm `%s`: boot: network setup failed: %s",
		    vm->name, lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
	}
	lua_settop(L, top);
}

/* ---- extension ----------------------------------------------------------- */

static void
close_scope(lua_State *L, const char *which)
{
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SCOPES);
	lua_getfield(L, -1, which);
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
		bridge_free(luaL_checkudata(L, -1, BRIDGE_MT));
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SCOPES);
	lua_newtable(L);
	lua_setfield(L, -2, which);
	lua_pop(L, 1);
}

static void
ext_scope_end(lua_State *L, struct runner *r, const char *test)
{
	(void)r;
	(void)test;
	close_scope(L, "test");
}

static void
ext_file_end(lua_State *L, struct runner *r)
{
	(void)r;
	close_scope(L, "test");
	close_scope(L, "file");
}

static void
new_meta(lua_State *L, const char *name, const luaL_Reg *m, lua_CFunction gc)
{
	luaL_newmetatable(L, name);
	lua_newtable(L);
	luaL_setfuncs(L, m, 0);
	lua_setfield(L, -2, "__index");
	if (gc) {
		lua_pushcfunction(L, gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, gc);
		lua_setfield(L, -2, "__close");
	}
}

static int
ext_open(lua_State *L, struct runner *r)
{
	static const luaL_Reg br[] = {
		{ "attach", br_attach }, { "detach", br_detach },
		{ "members", br_members }, { "partition", br_partition },
		{ "unpartition", br_unpartition },
		{ "is_partitioned", br_is_partitioned },
		{ "partition_all", br_partition_all },
		{ "restore_all", br_restore_all }, { "isolate", br_isolate },
		{ "unisolate", br_unisolate }, { "is_isolated", br_is_isolated },
		{ "add_latency", br_add_latency }, { "drop_rate", br_drop_rate },
		{ "bandwidth_limit", br_bandwidth_limit },
		{ "add_directional_latency", br_dir_latency },
		{ "directional_drop_rate", br_dir_drop }, { "reset", br_reset },
		{ "latency_ms", br_latency_ms },
		{ "drop_rate_pct", br_drop_rate_pct },
		{ "bandwidth_bps", br_bandwidth_bps }, { "nic", br_nic },
		{ "capture", br_capture }, { "name", br_name },
		{ "seed", br_seed }, { "subnet", br_subnet },
		{ "close", br_close }, { NULL, NULL },
	};
	static const luaL_Reg nic[] = {
		{ "counters", nic_counters }, { "disconnect", nic_disconnect },
		{ "reconnect", nic_reconnect }, { "ip", nic_ip },
		{ "mac", nic_mac }, { "vm_name", nic_vm_name },
		{ "bridge", nic_bridge }, { NULL, NULL },
	};
	static const luaL_Reg cap[] = {
		{ "bytes", cap_bytes }, { "stop", cap_stop },
		{ "path", cap_path }, { NULL, NULL },
	};
	static const luaL_Reg lab[] = { { "bridge", lab_bridge }, { NULL, NULL } };

	(void)r;
	new_meta(L, BRIDGE_MT, br, br_gc);
	lua_pushcfunction(L, br_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	new_meta(L, BRIDGE_NIC_MT, nic, NULL);
	lua_pop(L, 1);
	new_meta(L, BRIDGE_CAP_MT, cap, NULL);
	lua_pop(L, 1);

	/* vm:nic(bridge) joins the VM's methods. */
	luaL_getmetatable(L, VMAPI_VM_MT);
	if (lua_getfield(L, -1, "__index") == LUA_TTABLE) {
		lua_pushcfunction(L, vm_nic);
		lua_setfield(L, -2, "nic");
	}
	lua_pop(L, 2);

	lua_newtable(L);
	lua_createtable(L, 0, 1);
	lua_pushstring(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_VMS);
	lua_createtable(L, 0, 2);
	lua_newtable(L);
	lua_setfield(L, -2, "file");
	lua_newtable(L);
	lua_setfield(L, -2, "test");
	lua_setfield(L, LUA_REGISTRYINDEX, REG_SCOPES);

	runner_lab_add_methods(L, lab);
	lua_getfield(L, LUA_REGISTRYINDEX, LAB_LOOKUP_KEY);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_PREV);
	runner_lab_set_lookup(L, lab_lookup);
	return 0;
}

const struct runner_ext bridge_ext = {
	.name = "bridge",
	.open = ext_open,
	.scope_end = ext_scope_end,
	.file_end = ext_file_end,
};
