/* script_lua_libs.c - the C libraries Redis scripts find besides Lua's own:
 *
 * - bit: LuaBitOp's API and 32-bit semantics (numbers are reduced modulo
 *   2^32 the way LuaBitOp does it, results are signed 32-bit integers).
 * - struct: Roberto Ierusalimschy's struct library as Redis ships it
 *   (pack, unpack, size; formats > < ! x b B h H l L T i In I In c cn s f d).
 * - math: the 5.1 functions 5.4 dropped (mod, pow, log10, ldexp, frexp,
 *   cosh, sinh, tanh, atan2, one-argument log) and Redis's math.random: a
 *   rand48 generator that is not reseeded between scripts, so the sequence
 *   is the same as Redis 7.0's for the same scripts after start-up.
 * cjson comes from the Debian package lua-cjson (see configure.ac). */
#include "scripting.h"
#include <string.h>
#include <ctype.h>
#include <math.h>
#include <limits.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* bit                                                                       */
/* ------------------------------------------------------------------------ */

typedef int32_t SBits;
typedef uint32_t UBits;

/* LuaBitOp's conversion: add 2^52+2^51 and take the low 32 bits of the
 * double's representation (rounds to nearest, wraps modulo 2^32). */
static UBits barg(lua_State *L, int idx) {
    union {
        double n;
        uint64_t b;
    } bn;
    bn.n = (double)luaL_checknumber(L, idx);
    bn.n += 6755399441055744.0;
    return (UBits)bn.b;
}

static int bret(lua_State *L, UBits b) {
    lua_pushinteger(L, (lua_Integer)(SBits)b);
    return 1;
}

static int bit_tobit(lua_State *L) { return bret(L, barg(L, 1)); }
static int bit_bnot(lua_State *L) { return bret(L, ~barg(L, 1)); }

static int bit_band(lua_State *L) {
    UBits b = barg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--) b &= barg(L, i);
    return bret(L, b);
}

static int bit_bor(lua_State *L) {
    UBits b = barg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--) b |= barg(L, i);
    return bret(L, b);
}

static int bit_bxor(lua_State *L) {
    UBits b = barg(L, 1);
    for (int i = lua_gettop(L); i > 1; i--) b ^= barg(L, i);
    return bret(L, b);
}

static int bit_lshift(lua_State *L) {
    UBits b = barg(L, 1), n = barg(L, 2) & 31;
    return bret(L, b << n);
}

static int bit_rshift(lua_State *L) {
    UBits b = barg(L, 1), n = barg(L, 2) & 31;
    return bret(L, b >> n);
}

static int bit_arshift(lua_State *L) {
    UBits b = barg(L, 1), n = barg(L, 2) & 31;
    UBits r = b >> n;
    if ((b & 0x80000000u) && n) r |= ~(UBits)0 << (32 - n); /* sign fill */
    return bret(L, r);
}

static int bit_rol(lua_State *L) {
    UBits b = barg(L, 1), n = barg(L, 2) & 31;
    return bret(L, n ? (b << n) | (b >> (32 - n)) : b);
}

static int bit_ror(lua_State *L) {
    UBits b = barg(L, 1), n = barg(L, 2) & 31;
    return bret(L, n ? (b >> n) | (b << (32 - n)) : b);
}

static int bit_bswap(lua_State *L) {
    UBits b = barg(L, 1);
    b = (b >> 24) | ((b >> 8) & 0xff00) | ((b & 0xff00) << 8) | (b << 24);
    return bret(L, b);
}

static int bit_tohex(lua_State *L) {
    UBits b = barg(L, 1);
    SBits n = lua_isnone(L, 2) ? 8 : (SBits)barg(L, 2);
    const char *hexdigits = "0123456789abcdef";
    char buf[8];
    if (n < 0) {
        n = n == INT32_MIN ? 8 : -n;
        hexdigits = "0123456789ABCDEF";
    }
    if (n > 8) n = 8;
    for (int i = (int)n; --i >= 0;) {
        buf[i] = hexdigits[b & 15];
        b >>= 4;
    }
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

int luaopen_bit(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"tobit", bit_tobit},     {"bnot", bit_bnot},     {"band", bit_band},       {"bor", bit_bor},
        {"bxor", bit_bxor},       {"lshift", bit_lshift}, {"rshift", bit_rshift},   {"arshift", bit_arshift},
        {"rol", bit_rol},         {"ror", bit_ror},       {"bswap", bit_bswap},     {"tohex", bit_tohex},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* struct                                                                    */
/* ------------------------------------------------------------------------ */

#define STRUCT_MAXINTSIZE 32
#define STRUCT_MAXALIGN 8 /* offsetof(struct { char c; double d; }, d) */
#define STRUCT_BIG 0
#define STRUCT_LITTLE 1

typedef uint64_t Uinttype;
typedef int64_t Inttype;

typedef struct structHeader {
    int endian;
    int align;
} structHeader;

static int nativeEndian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one ? STRUCT_LITTLE : STRUCT_BIG;
}

static int structGetnum(lua_State *L, const char **fmt, int df) {
    if (!isdigit((unsigned char)**fmt)) return df;
    int a = 0;
    do {
        if (a > (INT_MAX / 10) || a * 10 > (INT_MAX - (**fmt - '0'))) luaL_error(L, "integral size overflow");
        a = a * 10 + *((*fmt)++) - '0';
    } while (isdigit((unsigned char)**fmt));
    return a;
}

static size_t structOptsize(lua_State *L, char opt, const char **fmt) {
    switch (opt) {
    case 'B': case 'b': return sizeof(char);
    case 'H': case 'h': return sizeof(short);
    case 'L': case 'l': return sizeof(long);
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return (size_t)structGetnum(L, fmt, 1);
    case 'i': case 'I': {
        int sz = structGetnum(L, fmt, sizeof(int));
        if (sz > STRUCT_MAXINTSIZE)
            luaL_error(L, "integral size %d is larger than limit of %d", sz, STRUCT_MAXINTSIZE);
        return (size_t)sz;
    }
    default: return 0;
    }
}

/* bytes needed to align an element of size at position len */
static int structToAlign(size_t len, structHeader *h, int opt, size_t size) {
    size_t align = size;
    if (align <= 1 || opt == 'c') return 0;
    if (align > (size_t)h->align) align = (size_t)h->align;
    return (int)((align - (len & (align - 1))) & (align - 1));
}

static void structControl(lua_State *L, int opt, const char **fmt, structHeader *h) {
    switch (opt) {
    case ' ': return;
    case '>': h->endian = STRUCT_BIG; return;
    case '<': h->endian = STRUCT_LITTLE; return;
    case '!': {
        int a = structGetnum(L, fmt, STRUCT_MAXALIGN);
        if (a <= 0 || (a & (a - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", a);
        h->align = a;
        return;
    }
    default: {
        const char *msg = lua_pushfstring(L, "invalid format option '%c'", opt);
        luaL_argerror(L, 1, msg);
    }
    }
}

/* size_t of a Lua number, as a C cast would give for sane values */
static size_t numberToSize(lua_Number n) {
    if (!(n >= 0)) return (size_t)-1;
    if (n >= 18446744073709551615.0) return (size_t)-1;
    return (size_t)n;
}

static Uinttype numberToUint(lua_State *L, int arg) {
    if (lua_isinteger(L, arg)) return (Uinttype)lua_tointeger(L, arg);
    lua_Number n = luaL_checknumber(L, arg);
    if (isnan(n)) return (Uinttype)INT64_MIN;
    if (n < 0) return n <= -9223372036854775808.0 ? (Uinttype)INT64_MIN : (Uinttype)(Inttype)n;
    if (n >= 18446744073709551616.0) return 0;
    return (Uinttype)n;
}

static void structPutInteger(lua_State *L, luaL_Buffer *b, int arg, int endian, int size) {
    Uinttype value = numberToUint(L, arg);
    char buff[STRUCT_MAXINTSIZE];
    if (endian == STRUCT_LITTLE) {
        for (int i = 0; i < size; i++) {
            buff[i] = (char)(value & 0xff);
            value >>= 8;
        }
    } else {
        for (int i = size - 1; i >= 0; i--) {
            buff[i] = (char)(value & 0xff);
            value >>= 8;
        }
    }
    luaL_addlstring(b, buff, (size_t)size);
}

static void structCorrectBytes(char *p, int size, int endian) {
    if (endian != nativeEndian()) {
        for (int i = 0; i < size / 2; i++) {
            char t = p[i];
            p[i] = p[size - 1 - i];
            p[size - 1 - i] = t;
        }
    }
}

static int struct_pack(lua_State *L) {
    luaL_Buffer b;
    const char *fmt = luaL_checkstring(L, 1);
    structHeader h = {nativeEndian(), 1};
    int arg = 2;
    size_t totalsize = 0;
    lua_pushnil(L); /* separates the arguments from the buffer */
    luaL_buffinit(L, &b);
    while (*fmt != '\0') {
        int opt = *fmt++;
        size_t size = structOptsize(L, (char)opt, &fmt);
        int toalign = structToAlign(totalsize, &h, opt, size);
        totalsize += (size_t)toalign;
        while (toalign-- > 0) luaL_addchar(&b, '\0');
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
            structPutInteger(L, &b, arg++, h.endian, (int)size);
            break;
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            structCorrectBytes((char *)&f, (int)size, h.endian);
            luaL_addlstring(&b, (char *)&f, size);
            break;
        }
        case 'd': {
            double d = (double)luaL_checknumber(L, arg++);
            structCorrectBytes((char *)&d, (int)size, h.endian);
            luaL_addlstring(&b, (char *)&d, size);
            break;
        }
        case 'c': case 's': {
            size_t l;
            const char *s = luaL_checklstring(L, arg++, &l);
            if (size == 0) size = l;
            luaL_argcheck(L, l >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default:
            structControl(L, opt, &fmt, &h);
        }
        totalsize += size;
    }
    luaL_pushresult(&b);
    return 1;
}

static void structPushInteger(lua_State *L, const char *buff, int endian, int issigned, int size) {
    Uinttype l = 0;
    if (endian == STRUCT_BIG) {
        for (int i = 0; i < size; i++) {
            l <<= 8;
            l |= (Uinttype)(unsigned char)buff[i];
        }
    } else {
        for (int i = size - 1; i >= 0; i--) {
            l <<= 8;
            l |= (Uinttype)(unsigned char)buff[i];
        }
    }
    if (!issigned) {
        if (l <= (Uinttype)INT64_MAX) lua_pushinteger(L, (lua_Integer)l);
        else lua_pushnumber(L, (lua_Number)l);
        return;
    }
    Uinttype mask = ~(Uinttype)0 << ((size * 8 - 1) & 63);
    if (l & mask) l |= mask; /* sign extension */
    lua_pushinteger(L, (lua_Integer)(Inttype)l);
}

static int struct_unpack(lua_State *L) {
    structHeader h = {nativeEndian(), 1};
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    lua_Number p = luaL_optnumber(L, 3, 1);
    size_t pos = p >= 1 && p < 9007199254740992.0 ? (size_t)p : 0;
    luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
    pos--;
    int n = 0;
    while (*fmt) {
        int opt = *fmt++;
        size_t size = structOptsize(L, (char)opt, &fmt);
        pos += (size_t)structToAlign(pos, &h, opt, size);
        luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
            structPushInteger(L, data + pos, h.endian, islower(opt), (int)size);
            n++;
            break;
        case 'x':
            break;
        case 'f': {
            float f;
            memcpy(&f, data + pos, size);
            structCorrectBytes((char *)&f, sizeof(f), h.endian);
            lua_pushnumber(L, f);
            n++;
            break;
        }
        case 'd': {
            double d;
            memcpy(&d, data + pos, size);
            structCorrectBytes((char *)&d, sizeof(d), h.endian);
            lua_pushnumber(L, d);
            n++;
            break;
        }
        case 'c':
            if (size == 0) {
                if (n == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
                size = numberToSize(lua_tonumber(L, -1));
                lua_pop(L, 1);
                n--;
                luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
            }
            lua_pushlstring(L, data + pos, size);
            n++;
            break;
        case 's': {
            const char *e = memchr(data + pos, '\0', ld - pos);
            if (e == NULL) luaL_error(L, "unfinished string in data");
            size = (size_t)(e - (data + pos)) + 1;
            lua_pushlstring(L, data + pos, size - 1);
            n++;
            break;
        }
        default:
            structControl(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos + 1);
    return n + 1;
}

static int struct_size(lua_State *L) {
    structHeader h = {nativeEndian(), 1};
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    while (*fmt) {
        int opt = *fmt++;
        size_t size = structOptsize(L, (char)opt, &fmt);
        pos += (size_t)structToAlign(pos, &h, opt, size);
        if (opt == 's') luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0) luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!isalnum(opt)) structControl(L, opt, &fmt, &h);
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int luaopen_struct(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"pack", struct_pack}, {"unpack", struct_unpack}, {"size", struct_size}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* math                                                                      */
/* ------------------------------------------------------------------------ */

/* rand48 as Redis's rand.c: x(n+1) = (a x(n) + c) mod 2^48, 31 bits out.
 * One sequence for the life of the process (Redis 7.0 does not reseed it
 * per script; SCRIPT FLUSH does not reset it either). */
static uint64_t rand48_state = 0x1234ABCD330EULL;

static int32_t redisLrand48(void) {
    rand48_state = (0x5DEECE66DULL * rand48_state + 0xB) & 0xFFFFFFFFFFFFULL;
    return (int32_t)(rand48_state >> 17);
}

static void redisSrand48(int32_t seed) { rand48_state = ((uint64_t)(uint32_t)seed << 16) | 0x330E; }

/* (int) of a Lua number as x86 truncates it (out of range: INT_MIN) */
static int checkint51(lua_State *L, int arg) {
    lua_Number n = luaL_checknumber(L, arg);
    if (!(n > (lua_Number)INT_MIN - 1 && n < (lua_Number)INT_MAX + 1)) return INT_MIN;
    return (int)n;
}

static int math_random(lua_State *L) {
    double r = (double)(redisLrand48() % INT32_MAX) / (double)INT32_MAX;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int u = checkint51(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushinteger(L, (lua_Integer)floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = checkint51(L, 1);
        int u = checkint51(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushinteger(L, (lua_Integer)floor(r * ((double)u - l + 1)) + l);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int math_randomseed(lua_State *L) {
    redisSrand48((int32_t)checkint51(L, 1));
    return 0;
}

static int math_log(lua_State *L) {
    lua_pushnumber(L, log(luaL_checknumber(L, 1)));
    return 1;
}

static int math_log10(lua_State *L) {
    lua_pushnumber(L, log10(luaL_checknumber(L, 1)));
    return 1;
}

static int math_pow(lua_State *L) {
    lua_pushnumber(L, pow(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
    return 1;
}

static int math_mod(lua_State *L) {
    lua_pushnumber(L, fmod(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
    return 1;
}

static int math_ldexp(lua_State *L) {
    lua_pushnumber(L, ldexp(luaL_checknumber(L, 1), checkint51(L, 2)));
    return 1;
}

static int math_frexp(lua_State *L) {
    int e;
    lua_pushnumber(L, frexp(luaL_checknumber(L, 1), &e));
    lua_pushinteger(L, e);
    return 2;
}

static int math_cosh(lua_State *L) {
    lua_pushnumber(L, cosh(luaL_checknumber(L, 1)));
    return 1;
}

static int math_sinh(lua_State *L) {
    lua_pushnumber(L, sinh(luaL_checknumber(L, 1)));
    return 1;
}

static int math_tanh(lua_State *L) {
    lua_pushnumber(L, tanh(luaL_checknumber(L, 1)));
    return 1;
}

static int math_atan2(lua_State *L) {
    lua_pushnumber(L, atan2(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
    return 1;
}

void luaLoadMath51(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"random", math_random}, {"randomseed", math_randomseed}, {"log", math_log},   {"log10", math_log10},
        {"pow", math_pow},       {"mod", math_mod},               {"ldexp", math_ldexp}, {"frexp", math_frexp},
        {"cosh", math_cosh},     {"sinh", math_sinh},             {"tanh", math_tanh},   {"atan2", math_atan2},
        {NULL, NULL},
    };
    lua_getglobal(L, LUA_MATHLIBNAME);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
