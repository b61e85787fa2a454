/*
 * readline_lazy.h: the GNU readline calls of `provium repl` (repl.c),
 * resolved with dlopen on first use: every runner is this binary, and
 * only the REPL reads lines (events/lazylib.h says why).  Include after
 * <readline/readline.h> and <readline/history.h>.  Call
 * readline_lazy_error() before anything else: "" when loadable, else the
 * reason; the calls do nothing when it is not.
 */
#ifndef PROVIUM_READLINE_LAZY_H
#define PROVIUM_READLINE_LAZY_H

#include <stdio.h>

#include <readline/history.h>
#include <readline/readline.h>

const char *readline_lazy_error(void);

void lazy_rl_callback_handler_install(const char *prompt, rl_vcpfunc_t *fn);
void lazy_rl_callback_handler_remove(void);
void lazy_rl_callback_read_char(void);
int lazy_rl_bind_key(int key, rl_command_func_t *fn);
int lazy_rl_set_prompt(const char *prompt);
void lazy_rl_replace_line(const char *text, int clear_undo);
int lazy_rl_on_new_line(void);
void lazy_rl_redisplay(void);
void lazy_add_history(const char *line);
int lazy_read_history(const char *path);
int lazy_write_history(const char *path);

#define rl_callback_handler_install lazy_rl_callback_handler_install
#define rl_callback_handler_remove  lazy_rl_callback_handler_remove
#define rl_callback_read_char       lazy_rl_callback_read_char
#define rl_bind_key                 lazy_rl_bind_key
#define rl_set_prompt               lazy_rl_set_prompt
#define rl_replace_line             lazy_rl_replace_line
#define rl_on_new_line              lazy_rl_on_new_line
#define rl_redisplay                lazy_rl_redisplay
#define add_history                 lazy_add_history
#define read_history                lazy_read_history
#define write_history               lazy_write_history

#endif
