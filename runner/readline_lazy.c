/* readline_lazy.c: dlopen("libreadline.so.8") when the REPL starts. */
#include <errno.h>

#include "events/lazylib.h"
#include "runner/readline_lazy.h"

enum { F_INSTALL, F_REMOVE, F_READ_CHAR, F_BIND, F_SET_PROMPT, F_REPLACE,
	F_NEW_LINE, F_REDISPLAY, F_ADD, F_READ_HIST, F_WRITE_HIST };
static const char *const names[] = { "rl_callback_handler_install",
	"rl_callback_handler_remove", "rl_callback_read_char", "rl_bind_key",
	"rl_set_prompt", "rl_replace_line", "rl_on_new_line", "rl_redisplay",
	"add_history", "read_history", "write_history" };
static void *fn[sizeof(names) / sizeof(names[0])];
static struct lazylib lib = LAZYLIB_INIT("libreadline.so.8", names, fn);

#undef rl_callback_handler_install
#undef rl_callback_handler_remove
#undef rl_callback_read_char
#undef rl_bind_key
#undef rl_set_prompt
#undef rl_replace_line
#undef rl_on_new_line
#undef rl_redisplay
#undef add_history
#undef read_history
#undef write_history
/* The real function's type, from readline's own headers. */
#define CALL(f, i) ((__typeof__(&f))fn[i])
#define READY() lazylib_ready(&lib)

const char *
readline_lazy_error(void)
{
	return READY() ? "" : lazylib_error(&lib);
}

void
lazy_rl_callback_handler_install(const char *prompt, rl_vcpfunc_t *f)
{
	if (READY())
		CALL(rl_callback_handler_install, F_INSTALL)(prompt, f);
}

void
lazy_rl_callback_handler_remove(void)
{
	if (READY())
		CALL(rl_callback_handler_remove, F_REMOVE)();
}

void
lazy_rl_callback_read_char(void)
{
	if (READY())
		CALL(rl_callback_read_char, F_READ_CHAR)();
}

int
lazy_rl_bind_key(int key, rl_command_func_t *f)
{
	return READY() ? CALL(rl_bind_key, F_BIND)(key, f) : -1;
}

int
lazy_rl_set_prompt(const char *prompt)
{
	return READY() ? CALL(rl_set_prompt, F_SET_PROMPT)(prompt) : -1;
}

void
lazy_rl_replace_line(const char *text, int clear_undo)
{
	if (READY())
		CALL(rl_replace_line, F_REPLACE)(text, clear_undo);
}

int
lazy_rl_on_new_line(void)
{
	return READY() ? CALL(rl_on_new_line, F_NEW_LINE)() : -1;
}

void
lazy_rl_redisplay(void)
{
	if (READY())
		CALL(rl_redisplay, F_REDISPLAY)();
}

void
lazy_add_history(const char *line)
{
	if (READY())
		CALL(add_history, F_ADD)(line);
}

int
lazy_read_history(const char *path)
{
	return READY() ? CALL(read_history, F_READ_HIST)(path) : ENOSYS;
}

int
lazy_write_history(const char *path)
{
	return READY() ? CALL(write_history, F_WRITE_HIST)(path) : ENOSYS;
}
