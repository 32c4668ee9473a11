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
 * The seed is 0 because then 5.4's hash of a string under 32 bytes is 5.1's
 * (5.4: h = seed ^ len, then each byte from the last; 5.1: h = len, the
 * same steps), so a small table of string keys is visited in Redis's order:
 * cjson.encode({a=1,b=2}) gives Redis's bytes. Larger tables can still
 * differ: 5.4 moves the nodes into a grown table in another order than 5.1,
 * which changes where colliding keys land.
 *
 * table.sort likewise picks a random pivot (from clock() and time()) for
 * large arrays, so elements that compare equal could come out in a
 * different order from one run to the next; a constant keeps it
 * deterministic, as in Redis. */
#ifndef DREDIS_LUA_USER_H
#define DREDIS_LUA_USER_H

#define luai_makeseed(L) ((unsigned int)0)
#define l_randomizePivot() ((unsigned int)0)

#endif
