/*
 * lsp.h: `provium lsp-setup [DIR] [--force]`: editor support for test
 * files.  Writes DIR/.provium-meta/types.lua (LuaLS `---@meta` stubs for
 * the whole test API: test, todo, wait_until, json, the `t` context,
 * labs, VMs and their processes, files, streams, workers and clocks) and
 * DIR/.luarc.json pointing LuaLS at it.  An existing .luarc.json is never
 * overwritten without --force (it may hold the user's settings): the
 * settings to merge by hand are printed instead, exit 1.
 */
#ifndef PROVIUM_LSP_H
#define PROVIUM_LSP_H

extern const char lsp_types_lua[];

/* argv[0] is "lsp-setup".  Exit code: 0, 1 (refused / I/O error), 2 usage. */
int lsp_setup_main(int argc, char **argv);

#endif
