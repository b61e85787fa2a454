/* repl.c: `provium repl` (repl.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>
#include "runner/readline_lazy.h"

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"
#include "runner/repl.h"
#include "runner/runner_int.h"
#include "vm/profile.h"

#define REPL_PROMPT "provium> "
#define REPL_MORE   ">> "
#define REPL_CODE_MAX (1u << 20)

/* ---- the stand-in supervisor (child process) ---- */

static void
answer(int fd, const char *t, uint64_t id, uint32_t cid)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, cid ? 3 : 2);
	mp_kv_str(&pk, "t", t);
	mp_kv_u64(&pk, "id", id);
	if (cid)
		mp_kv_u64(&pk, "cid", cid);
	(void)frame_write(fd, sb.data, sb.size, FRAME_MAX_RUNNER);
	msgpack_sbuffer_destroy(&sb);
}

static void __attribute__((noreturn))
stand_in(int fd)
{
	uint32_t next_cid = 100;
	uint8_t *body;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *m;
	uint64_t id;

	while (frame_read(fd, FRAME_MAX_RUNNER, &body, &len) == FRAME_OK) {
		msgpack_unpacked_init(&u);
		if (frame_decode(body, len, &u, &m) == FRAME_OK &&
		    mp_get_u64(m, "id", &id) == 0) {
			if (mp_obj_is_str(mp_get(m, "t"), "claim")) {
				answer(fd, "claim_ok", id, 0);
			} else if (mp_obj_is_str(mp_get(m, "t"), "reserve")) {
				answer(fd, "reserve_ok", id, next_cid);
				next_cid += 64;
			}
		}
		msgpack_unpacked_destroy(&u);
		free(body);
	}
	_exit(0);
}

/* ---- the Lua side ---- */

static int
msghandler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (msg == NULL)
		msg = lua_pushfstring(L, "(error object is a %s value)",
		    luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

static int
pcall_tb(lua_State *L, int nargs, int nres)
{
	int base = lua_gettop(L) - nargs, rc;

	lua_pushcfunction(L, msghandler);
	lua_insert(L, base);
	rc = lua_pcall(L, nargs, nres, base);
	lua_remove(L, base);
	return rc;
}

static int g_quit;      /* exit() / quit() were called; entry-file-like state
                         * of this one interactive session */

static int
l_quit(lua_State *L)
{
	(void)L;
	g_quit = 1;
	return 0;
}

static struct runner *
make_runner(const struct repl_opts *o, int fd, char **err)
{
	struct runner *r = calloc(1, sizeof(*r));
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const msgpack_object *m;

	if (r == NULL)
		return NULL;
	r->fd = fd;
	r->scope_lab_ref = LUA_NOREF;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	mp_kv_str(&pk, "t", "start");
	mp_kv_u64(&pk, "v", 1);
	mp_kv_str(&pk, "path", "./repl");
	mp_kv_str(&pk, "display", "repl");
	mp_str(&pk, "opts");
	msgpack_pack_map(&pk, 4);
	mp_kv_str(&pk, "vmm", o->vmm);
	mp_kv_str(&pk, "accel", o->accel);
	mp_kv_bool(&pk, "verbose", o->verbose);
	if (o->config)
		mp_kv_str(&pk, "config", o->config);
	else
		mp_kv_nil(&pk, "config");
	msgpack_unpacked_init(&u);
	if (frame_decode((const uint8_t *)sb.data, sb.size, &u, &m) != FRAME_OK)
		*err = strdup("internal error: bad start map");
	else
		runner_parse_start(r, m, err);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	if (*err) {
		runner_free(r);
		free(r);
		return NULL;
	}
	return r;
}

/* vm = provium:vm(name, profile):boot() */
static int
boot_vm(lua_State *L, const struct repl_opts *o)
{
	lua_pushcfunction(L, runner_setup);
	lua_pushlightuserdata(L, runner_from_lua(L));
	if (pcall_tb(L, 1, 0) != LUA_OK)
		goto fail;
	lua_pushcfunction(L, l_quit);
	lua_setglobal(L, "exit");
	lua_pushcfunction(L, l_quit);
	lua_setglobal(L, "quit");
	if (luaL_loadstring(L, "local name, profile, fixture = ...\n"
	    "if fixture then\n"
	    "  local ok, v = pcall(provium.vm_fixture, provium, fixture)\n"
	    "  if ok then vm = v return end\n"
	    "  io.stderr:write('provium repl: fixture `', fixture, '` not restored (',\n"
	    "    tostring(v), '); booting cold\\n')\n"
	    "end\n"
	    "vm = provium:vm(name, profile)\n"
	    "vm:boot()\n") != LUA_OK)
		goto fail;
	lua_pushstring(L, o->name);
	if (o->profile)
		lua_pushstring(L, o->profile);
	else
		lua_pushnil(L);
	if (o->fixture)
		lua_pushstring(L, o->fixture);
	else
		lua_pushnil(L);
	if (pcall_tb(L, 3, 0) != LUA_OK)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "provium repl: %s\n", lua_tostring(L, -1));
	lua_pop(L, 1);
	return -1;
}

/* 1 when msg says the chunk just ended early (more lines may complete it). */
static int
incomplete(const char *msg)
{
	size_t n = strlen(msg), k = strlen("<eof>");

	return n >= k && strcmp(msg + n - k, "<eof>") == 0;
}

/* Compiles code: `return code` first, then code.  0 ok (chunk pushed),
 * 1 incomplete, -1 a syntax error (message pushed). */
static int
compile(lua_State *L, const char *code)
{
	char *ret;

	if (asprintf(&ret, "return %s;", code) >= 0) {
		int rc = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");

		free(ret);
		if (rc == LUA_OK)
			return 0;
		lua_pop(L, 1);
	}
	if (luaL_loadbuffer(L, code, strlen(code), "=stdin") == LUA_OK)
		return 0;
	if (incomplete(lua_tostring(L, -1))) {
		lua_pop(L, 1);
		return 1;
	}
	return -1;
}

static void
run_chunk(lua_State *L)
{
	int base = lua_gettop(L) - 1, n, i;

	if (pcall_tb(L, 0, LUA_MULTRET) != LUA_OK) {
		fprintf(stderr, "%s\n", lua_tostring(L, -1));
		lua_settop(L, base);
		return;
	}
	n = lua_gettop(L) - base;
	for (i = 1; i <= n; i++) {
		fputs(luaL_tolstring(L, base + i, NULL), stdout);
		lua_pop(L, 1);
		fputs(i < n ? "\t" : "\n", stdout);
	}
	fflush(stdout);
	lua_settop(L, base);
}

/* ---- the prompt: readline's callback interface in a poll loop, so that
 * SIGINT (a signalfd) discards the line without a signal handler. ---- */

struct prompt {
	lua_State *L;
	char *code;             /* lines of an incomplete statement */
	int eof;
	int sfd;
};

static struct prompt *g_prompt;     /* readline's callback takes no argument */

static void
on_line(char *line)
{
	struct prompt *p = g_prompt;
	char *code;
	int rc;

	if (line == NULL) {
		p->eof = 1;
		rl_callback_handler_remove();
		return;
	}
	if (*line)
		add_history(line);
	if (p->code) {
		if (asprintf(&code, "%s\n%s", p->code, line) < 0)
			code = NULL;
		free(p->code);
		p->code = NULL;
	} else {
		code = strdup(line);
	}
	free(line);
	if (code == NULL || strlen(code) > REPL_CODE_MAX) {
		fprintf(stderr, "provium repl: %s\n", code ? "input too long" :
		    "out of memory");
		free(code);
		return;
	}
	/* No handler remove/install here: that re-preps the terminal and
	 * loses typeahead; readline shows rl_prompt for the next line. */
	rc = compile(p->L, code);
	if (rc == 1) {
		p->code = code;
		rl_set_prompt(REPL_MORE);
		return;
	}
	rl_set_prompt(REPL_PROMPT);
	if (rc == 0)
		run_chunk(p->L);
	else {
		fprintf(stderr, "%s\n", lua_tostring(p->L, -1));
		lua_pop(p->L, 1);
	}
	free(code);
	if (g_quit) {           /* no prompt after exit() */
		rl_callback_handler_remove();
		p->eof = 1;
	}
}

static void
discard_line(struct prompt *p)
{
	struct signalfd_siginfo si;

	while (read(p->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	free(p->code);
	p->code = NULL;
	rl_replace_line("", 0);
	fputs("^C\n", stdout);
	rl_set_prompt(REPL_PROMPT);
	rl_on_new_line();
	rl_redisplay();
}

/* ^C typed at the prompt (the terminal's ISIG is off, see repl_run). */
static int
on_ctrl_c(int count, int key)
{
	(void)count, (void)key;
	if (g_prompt)
		discard_line(g_prompt);
	return 0;
}

static void
prompt_loop(lua_State *L, int sfd)
{
	struct prompt p = { .L = L, .sfd = sfd };
	struct pollfd pfd[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
	    { .fd = sfd, .events = POLLIN } };

	g_prompt = &p;
	rl_callback_handler_install(REPL_PROMPT, on_line);
	rl_bind_key('\003', on_ctrl_c);
	while (!p.eof && !g_quit) {
		fflush(stdout);
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			discard_line(&p);
		else if (pfd[0].revents)
			rl_callback_read_char();
	}
	if (!p.eof)
		rl_callback_handler_remove();
	free(p.code);
	g_prompt = NULL;
}

static char *
history_path(void)
{
	const char *home = getenv("HOME");
	char *p;

	if (home == NULL || *home != '/' ||
	    asprintf(&p, "%s/.provium_history", home) < 0)
		return NULL;
	return p;
}

int
repl_run(const struct repl_opts *o)
{
	struct runner *r;
	lua_State *L = NULL;
	char *err = NULL, *hist;
	sigset_t set, old;
	struct termios saved;
	int sv[2], sfd = -1, rc = 2, st, tty = 0;
	pid_t child;

	if (*readline_lazy_error()) {
		fprintf(stderr, "provium repl: cannot load readline: %s (is "
		    "libreadline8 installed? `make deps`)\n", readline_lazy_error());
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fprintf(stderr, "provium repl: socketpair: %s\n", strerror(errno));
		return 2;
	}
	/*
	 * A plain fork, not vm/spawn: the stand-in is C code of this binary
	 * (a frame loop with malloc), not a program to exec, and it must run
	 * alongside us, not with us suspended as a spawn_start child.
	 */
	if ((child = fork()) < 0) {
		fprintf(stderr, "provium repl: fork: %s\n", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return 2;
	}
	if (child == 0) {
		close(sv[0]);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGINT, SIG_IGN);
		stand_in(sv[1]);
	}
	close(sv[1]);
	if ((r = make_runner(o, sv[0], &err)) == NULL) {
		fprintf(stderr, "provium repl: %s\n", err ? err : "out of memory");
		free(err);
		close(sv[0]);
		goto reap;
	}
	if ((L = luaL_newstate()) == NULL) {
		fprintf(stderr, "provium repl: cannot create a Lua state\n");
		goto out;
	}
	*(struct runner **)lua_getextraspace(L) = r;
	printf("provium repl: booting `%s`%s%s%s ...\n", o->name,
	    o->profile ? " (profile " : "", o->profile ? o->profile : "",
	    o->profile ? ")" : "");
	fflush(stdout);
	if (boot_vm(L, o) != 0) {
		rc = 1;
		goto out;
	}
	printf("`vm` is %s; ^D or exit() leaves\n", "booted");
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	hist = history_path();
	if (hist)
		(void)read_history(hist);
	/*
	 * ^C must not reach the VM: QEMU is in our process group, and a
	 * terminal's SIGINT goes to the whole foreground group.  So while the
	 * prompt runs, the terminal sends ^C as a character (ISIG off) and
	 * readline's binding discards the line; a ^C typed while a line runs
	 * discards the next one.  SIGINT from elsewhere comes by the signalfd.
	 */
	if ((tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0)) {
		struct termios t = saved;

		t.c_lflag &= ~(tcflag_t)ISIG;
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	prompt_loop(L, sfd);
	if (tty)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (hist) {
		(void)write_history(hist);
		free(hist);
	}
	printf(g_quit ? "bye\n" : "\nbye\n");     /* ^D left the cursor on the prompt */
	fflush(stdout);
	/* The VM goes down before the state does, like a test file's. */
	if (luaL_loadstring(L, "provium:shutdown()") == LUA_OK &&
	    pcall_tb(L, 0, 0) != LUA_OK) {
		fprintf(stderr, "provium repl: shutdown: %s\n", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	rc = 0;
out:
	if (L)
		lua_close(L);
	if (sfd >= 0) {
		close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	close(r->fd);           /* the stand-in sees EOF and exits */
	runner_free(r);
	free(r);
reap:
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	return rc;
}

static const char usage[] =
"usage: provium repl [PROFILE] [--name VM] [--fixture PATH] [--vmm qemu|local]\n"
"                    [--config PATH] [--accel auto|kvm|tcg] [--no-build] [-v]\n"
"Boots one VM (named `repl` unless --name) and gives a Lua prompt with `vm`\n"
"bound to it (--fixture: restored from that VM fixture, else booted cold);\n"
"the whole test API works (docs/lua-api.md).  Expressions print\n"
"their values; ^C discards the line; ^D or exit() shuts the VM down and leaves.\n";

int
repl_main(int argc, char **argv)
{
	struct repl_opts o = { .name = "repl", .vmm = "qemu", .accel = "auto" };
	struct profile_config *cfg = NULL;
	char *err = NULL;
	int i, no_build = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **val = !strcmp(a, "--name") ? &o.name :
		    !strcmp(a, "--vmm") ? &o.vmm : !strcmp(a, "--fixture") ?
		    &o.fixture : !strcmp(a, "--config") ?
		    &o.config : !strcmp(a, "--accel") ? &o.accel : NULL;

		if (val && i + 1 < argc) {
			*val = argv[++i];
		} else if (!strcmp(a, "--no-build")) {
			no_build = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o.verbose = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (a[0] == '-' || o.profile) {
			fprintf(stderr, "provium repl: unexpected argument `%s`\n%s",
			    a, usage);
			return 2;
		} else {
			o.profile = a;
		}
	}
	if (strcmp(o.vmm, "qemu") && strcmp(o.vmm, "local")) {
		fprintf(stderr, "provium repl: --vmm must be qemu or local, got `%s`\n",
		    o.vmm);
		return 2;
	}
	if (!strcmp(o.vmm, "qemu") && !no_build) {
		if (profile_config_load(o.config, &cfg, &err) != 0 ||
		    (o.profile && profile_find(cfg, o.profile) == NULL) ||
		    profile_run_builds(cfg, o.profile ? o.profile : "linux", &err) != 0) {
			if (err)
				fprintf(stderr, "provium: %s\n", err);
			else
				fprintf(stderr, "provium repl: profile `%s` not found "
				    "in provium.toml\n", o.profile);
			free(err);
			profile_config_free(cfg);
			return 2;
		}
		profile_config_free(cfg);
	}
	return repl_run(&o);
}
