/* fuzz_lua_reply.c - the conversions between RESP replies and Lua values
 * (script_lua.c): a command's reply to redis.call() made a Lua value, and a
 * script's Lua value made the reply to EVAL.
 *
 * The first byte chooses: bit 0, the Lua value is built from a fuzzed RESP
 * reply (luaPushRedisReply, read as RESP3 when bit 1) or from a fuzzed
 * table program (below); bit 2, the caller speaks RESP3. Either way the
 * value goes back through luaReplyToRedisReply, whose output must be
 * exactly one well-formed reply of the caller's protocol. A reply made a
 * Lua value takes memory in proportion to its size. */
#include "fuzz.h"
#include "scripting.h"
#include <event2/buffer.h>
#include <string.h>

#define MAX_STACK 200

static lua_State *L;
static client *caller, *script_client;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    server.verbosity = LL_WARNING;
    L = luaCreateInterpreter(0);
    caller = createFakeClient();
    script_client = createFakeClient();
    return 0;
}

/* ---- a RESP reply, checked ---- */

typedef struct cursor {
    const char *p, *end;
    int resp3;
} cursor;

static long long lineNumber(cursor *c, const char *what) {
    const char *cr = memchr(c->p, '\r', (size_t)(c->end - c->p));
    FUZZ_CHECK(cr && cr + 1 < c->end && cr[1] == '\n', "%s without CRLF", what);
    long long v;
    FUZZ_CHECK(string2ll(c->p, (size_t)(cr - c->p), &v), "%s: not a number: %.*s", what, (int)(cr - c->p), c->p);
    c->p = cr + 2;
    return v;
}

static void line(cursor *c, const char *what) {
    const char *cr = memchr(c->p, '\r', (size_t)(c->end - c->p));
    FUZZ_CHECK(cr && cr + 1 < c->end && cr[1] == '\n', "%s without CRLF", what);
    FUZZ_CHECK(!memchr(c->p, '\n', (size_t)(cr - c->p)), "a newline inside %s", what);
    c->p = cr + 2;
}

static void checkReply(cursor *c) {
    FUZZ_CHECK(c->p < c->end, "the reply ends early");
    char type = *c->p++;
    long long n;
    switch (type) {
    case '+': case '-': line(c, "a status or error"); return;
    case ':': lineNumber(c, "an integer"); return;
    case '$':
        n = lineNumber(c, "a bulk length");
        if (n == -1 && !c->resp3) return;
        FUZZ_CHECK(n >= 0 && n + 2 <= c->end - c->p, "a bulk of %lld bytes", n);
        FUZZ_CHECK(c->p[n] == '\r' && c->p[n + 1] == '\n', "a bulk without CRLF");
        c->p += n + 2;
        return;
    case '*':
        n = lineNumber(c, "an array length");
        if (n == -1 && !c->resp3) return;
        FUZZ_CHECK(n >= 0, "array length %lld", n);
        for (long long i = 0; i < n; i++) checkReply(c);
        return;
    }
    FUZZ_CHECK(c->resp3, "RESP3 type '%c' in a RESP2 reply", type);
    switch (type) {
    case '_': line(c, "a null"); return;
    case '#':
        FUZZ_CHECK(c->end - c->p >= 3 && (c->p[0] == 't' || c->p[0] == 'f') && c->p[1] == '\r', "a bad boolean");
        c->p += 3;
        return;
    case ',': case '(': line(c, "a double or big number"); return;
    case '=':
        n = lineNumber(c, "a verbatim length");
        FUZZ_CHECK(n >= 4 && n + 2 <= c->end - c->p && c->p[3] == ':', "a verbatim string of %lld bytes", n);
        c->p += n + 2;
        return;
    case '%': case '~':
        n = lineNumber(c, "a map or set length");
        FUZZ_CHECK(n >= 0, "length %lld", n);
        for (long long i = 0; i < (type == '%' ? 2 * n : n); i++) checkReply(c);
        return;
    }
    FUZZ_CHECK(0, "unknown reply type '%c'", type);
}

/* ---- a Lua value built by a program ---- */

static const char *const fields[] = {"ok", "err", "double", "big_number", "verbatim_string", "map",
                                     "set", "format", "string", "source", "line", "x"};

/* Each byte an instruction on the Lua stack; operands follow it. */
static void runTableProgram(const uint8_t *p, size_t len) {
    size_t i = 0;
    while (i < len && lua_gettop(L) < MAX_STACK && lua_checkstack(L, 4)) {
        uint8_t op = p[i++];
        size_t n;
        switch (op % 10) {
        case 0: /* a string of the next byte's length */
            n = i < len ? p[i++] : 0;
            if (n > len - i) n = len - i;
            lua_pushlstring(L, (const char *)p + i, n);
            i += n;
            break;
        case 1: { /* an integer, 8 bytes */
            long long v = 0;
            n = len - i < 8 ? len - i : 8;
            memcpy(&v, p + i, n);
            i += n;
            lua_pushinteger(L, v);
            break;
        }
        case 2: { /* a double, 8 bytes */
            double d = 0;
            n = len - i < 8 ? len - i : 8;
            memcpy(&d, p + i, n);
            i += n;
            lua_pushnumber(L, d);
            break;
        }
        case 3: lua_pushboolean(L, op & 16); break;
        case 4: lua_pushnil(L); break;
        case 5: lua_newtable(L); break;
        case 6: /* t[field] = v: the value on top, the table under it */
            if (lua_gettop(L) >= 2 && lua_istable(L, -2)) lua_setfield(L, -2, fields[(op / 10) % 12]);
            break;
        case 7: /* t[#t+1] = v */
            if (lua_gettop(L) >= 2 && lua_istable(L, -2)) lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
            break;
        case 8: /* t[k] = v: value on top, key under it, table under that */
            if (lua_gettop(L) >= 3 && lua_istable(L, -3) && !lua_isnil(L, -2) &&
                !(lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2)))
                lua_rawset(L, -3);
            break;
        case 9: /* a copy of a value deeper in the stack; not of a table: a
                 * table shared or holding itself makes a reply exponential
                 * in size, as in Redis (a script's choice, not a bug) */
            if (lua_gettop(L) >= 1) {
                int at = -1 - (int)(op / 10) % lua_gettop(L);
                if (!lua_istable(L, at)) lua_pushvalue(L, at);
            }
            break;
        }
    }
    /* the value returned is the one at the bottom: the first built */
    if (lua_gettop(L) == 0) lua_pushnil(L);
    lua_settop(L, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t mode = data[0];
    lua_settop(L, 0);
    if (mode & 1) {
        /* memory in proportion to the reply: a count its bytes do not
         * back must not reserve room for that many elements */
        size_t before = luaInterpreterMemory(0);
        luaPushRedisReply(L, (const char *)data + 1, size - 1, (mode & 2) != 0);
        size_t grown = luaInterpreterMemory(0) > before ? luaInterpreterMemory(0) - before : 0;
        FUZZ_CHECK(grown <= (1 << 20) + 256 * size, "%zu bytes of Lua memory for a reply of %zu", grown, size);
    } else {
        runTableProgram(data + 1, size - 1);
    }
    lua_settop(L, 1);
    caller->resp = script_client->resp = (mode & 4) ? 3 : 2;
    luaReplyToRedisReply(caller, script_client, L);
    FUZZ_CHECK(lua_gettop(L) == 0, "%d values left on the stack", lua_gettop(L));
    size_t len = evbuffer_get_length(caller->out);
    cursor c = {(const char *)evbuffer_pullup(caller->out, -1), NULL, caller->resp == 3};
    c.end = c.p + len;
    checkReply(&c);
    FUZZ_CHECK(c.p == c.end, "%zu bytes after the reply", (size_t)(c.end - c.p));
    evbuffer_drain(caller->out, len);
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}
