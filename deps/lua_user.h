/* deps/lua_user.h - dredis's build settings for the Lua interpreter vendored
 * unchanged in deps/lua. lua.h includes this file through LUA_USER_H, which
 * only the build of deps/lua defines (Makefile.am).
 *
 * Lua 5.4 seeds its string hash from the time and from addresses (ASLR) each
 * time a state is created, so the order in which pairs(), next() and
 * therefore cjson.encode visit a table's string keys changes from one
 * process to the next. Redis's Lua 5.1 has no such seed: a script gives the
 * same answer after a restart. A constant seed makes ours stable too. The
 * hash is still Lua's (no hash flooding defence is lost that a script
 * sandbox running trusted, admin-loaded code relies on).
 *
 * table.sort likewise picks a random pivot (from clock() and time()) for
 * large arrays, so elements that compare equal could come out in a
 * different order from one run to the next; a constant keeps it
 * deterministic, as in Redis. */
#ifndef DREDIS_LUA_USER_H
#define DREDIS_LUA_USER_H

#define luai_makeseed(L) ((unsigned int)0x64726564) /* "dred" */
#define l_randomizePivot() ((unsigned int)0)

#endif
