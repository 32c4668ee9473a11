/* config.c - settings from the environment. Every variable is validated at
 * start-up; a bad value stops the server with a one-line reason. */
#include "server.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>

extern char **environ;

static char errbuf[1024];

static int fail(char **err, const char *fmt, const char *name, const char *value) {
    snprintf(errbuf, sizeof(errbuf), fmt, name, value);
    *err = errbuf;
    return C_ERR;
}

static int parseBool(const char *name, const char *v, int *out, char **err) {
    if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) *out = 1;
    else if (!*v || !strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
        *out = 0;
    else return fail(err, "%s must be one of 1/0, true/false, yes/no, on/off (got '%s')", name, v);
    return C_OK;
}

static int parseLong(const char *name, const char *v, long min, long max, long *out, char **err) {
    long n;
    if (!string2l(v, strlen(v), &n) || n < min || n > max) {
        static char fmt[256];
        snprintf(fmt, sizeof(fmt), "%%s must be an integer from %ld to %ld (got '%%s')", min, max);
        return fail(err, fmt, name, v);
    }
    *out = n;
    return C_OK;
}

/* mkdir -p */
static int makeDirs(const char *path) {
    char *p = strdup(path);
    if (!p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST) { free(p); return -1; }
            *s = '/';
        }
    }
    int r = (mkdir(p, 0755) < 0 && errno != EEXIST) ? -1 : 0;
    free(p);
    return r;
}

static int setupRootDir(char **err) {
    const char *v = getenv("ROOT_DIR");
    if (!v || !*v) {
        const char *tmp = getenv("TMPDIR");
        char templ[PATH_MAX];
        snprintf(templ, sizeof(templ), "%s/dredis-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(templ)) return fail(err, "cannot create a temporary %s: %s", "ROOT_DIR", strerror(errno));
        server.root_dir = zstrdup(templ);
        server.root_dir_is_temp = 1;
        return C_OK;
    }
    struct stat sb;
    if (stat(v, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return fail(err, "%s '%s' exists and is not a directory", "ROOT_DIR", v);
    } else if (errno != ENOENT || makeDirs(v) < 0) {
        snprintf(errbuf, sizeof(errbuf), "ROOT_DIR '%s' cannot be created: %s", v, strerror(errno));
        *err = errbuf;
        return C_ERR;
    }
    if (access(v, W_OK | X_OK) < 0) return fail(err, "%s '%s' is not writable", "ROOT_DIR", v);
    char *real = realpath(v, NULL);
    server.root_dir = zstrdup(real ? real : v);
    free(real);
    return C_OK;
}

static const char *knownVars[] = {"DREDIS_HOST",          "DREDIS_PORT",           "DREDIS_MAXCLIENTS", "DREDIS_FSYNC",
                                   "DREDIS_LUA_TIME_LIMIT", "DREDIS_LUA_MEMORY_LIMIT", NULL};

int loadConfigFromEnv(char **err) {
    const char *v;
    long n;
    server.host = zstrdup((v = getenv("DREDIS_HOST")) && *v ? v : "127.0.0.1");
    server.port = 6377;
    if ((v = getenv("DREDIS_PORT")) && *v) {
        if (parseLong("DREDIS_PORT", v, 1, 65535, &n, err) != C_OK) return C_ERR;
        server.port = (int)n;
    }
    server.maxclients = 10000;
    if ((v = getenv("DREDIS_MAXCLIENTS")) && *v) {
        if (parseLong("DREDIS_MAXCLIENTS", v, 1, 1000000, &n, err) != C_OK) return C_ERR;
        server.maxclients = (unsigned long)n;
    }
    server.fsync_policy = "no";
    if ((v = getenv("DREDIS_FSYNC")) && *v && strcmp(v, "no") != 0)
        return fail(err, "%s='%s' is not supported yet: this build only has the policy 'no' (no fsync)",
                    "DREDIS_FSYNC", v);
    server.lua_time_limit = 5000;
    if ((v = getenv("DREDIS_LUA_TIME_LIMIT")) && *v) {
        if (parseLong("DREDIS_LUA_TIME_LIMIT", v, 1, 86400000L, &n, err) != C_OK) return C_ERR;
        server.lua_time_limit = n;
    }
    server.lua_memory_limit = 64UL * 1024 * 1024;
    if ((v = getenv("DREDIS_LUA_MEMORY_LIMIT")) && *v) {
        if (parseLong("DREDIS_LUA_MEMORY_LIMIT", v, 1024L * 1024, 1L << 40, &n, err) != C_OK) return C_ERR;
        server.lua_memory_limit = (size_t)n;
    }
    if ((v = getenv("DEBUG")) && parseBool("DEBUG", v, &server.debug, err) != C_OK) return C_ERR;
    if ((v = getenv("FLUSHALL_ON_STARTUP")) && parseBool("FLUSHALL_ON_STARTUP", v, &server.flushall_on_startup, err) != C_OK)
        return C_ERR;
    if (setupRootDir(err) != C_OK) return C_ERR;
    /* warn about DREDIS_* names we do not know: likely typos */
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "DREDIS_", 7) != 0) continue;
        size_t len = strcspn(*e, "=");
        int known = 0;
        for (int i = 0; knownVars[i]; i++)
            if (strlen(knownVars[i]) == len && !strncmp(knownVars[i], *e, len)) known = 1;
        if (!known) serverLog(LL_WARNING, "ignoring unknown setting %.*s", (int)len, *e);
    }
    return C_OK;
}
