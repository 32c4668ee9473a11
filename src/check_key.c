/* check_key.c - dredis-check of one key directory: its name (plain or
 * shortened, with its "name" file), "type", "expire" and its entry in the
 * expiry index, the entries its type allows, and the layouts of strings,
 * hashes, sets and sorted sets (members, their .names, "len", the scores/
 * index). Lists and streams are in check_seq.c. */
#include "dredis_check.h"
#include "keyname.h"
#include "zset_index.h"
#include "util.h"
#include "zmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

enum { T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_STREAM, T_NONE };
static const char *typeNames[] = {"string", "list", "set", "zset", "hash", "stream"};

/* The entries a key of each type may hold beside type, expire and name. */
static const char *const typeEntries[][4] = {
    [T_STRING] = {"value", NULL},
    [T_LIST] = {NULL},
    [T_SET] = {"len", "values", NULL},
    [T_ZSET] = {"len", "values", "scores", NULL},
    [T_HASH] = {"len", "fields", NULL},
    [T_STREAM] = {NULL},
};

/* As store_keys.c's storeTypeFromFile: the name, newlines at the end tolerated. */
static int typeOf(const sds s) {
    size_t len = sdslen(s);
    while (len && s[len - 1] == '\n') len--;
    for (int i = 0; i < T_NONE; i++)
        if (strlen(typeNames[i]) == len && !memcmp(typeNames[i], s, len)) return i;
    return T_NONE;
}

static int typeOwnsEntry(int type, const char *name) {
    if (type == T_LIST) return listOwnsEntry(name);
    if (type == T_STREAM) return streamOwnsEntry(name);
    for (int i = 0; typeEntries[type][i]; i++)
        if (!strcmp(typeEntries[type][i], name)) return 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Members of hashes, sets and sorted sets                                   */
/* ------------------------------------------------------------------------ */

/* Open namespace ns of a key (-1 when missing, with *missing set, or on a
 * problem, reported). */
static int openNamespace(int keyfd, const char *keypath, const char *ns, int *missing) {
    *missing = 0;
    int fd = openDirAt(keyfd, ns);
    if (fd >= 0) return fd;
    if (errno == ENOENT) {
        *missing = 1;
        return -1;
    }
    sds p = pathJoin(keypath, ns);
    checkProblem(p, "cannot open: %s", errno == ENOTDIR ? "not a directory" : strerror(errno));
    sdsfree(p);
    return -1;
}

/* The raw member named by entry e of a namespace (a regular file unless
 * dirs), or NULL when it is not one: reported, and moved to lost+found
 * with --repair. namesfd: the namespace's .names (-1: none). */
static sds memberOfEntry(int nsfd, int namesfd, const char *e, int type, const char *nspath, const char *what) {
    sds p = pathJoin(nspath, e);
    sds m = NULL;
    if (e[0] == '.') {
        if (!strcmp(e, ".names") && type == DT_DIR) {
            sdsfree(p);
            return NULL;
        }
        checkProblem(p, "stray entry (names starting with '.' are dredis's own)");
    } else if (type != DT_REG) {
        checkProblem(p, "a %s that is not a regular file", what);
    } else if ((m = resolveName(namesfd, e, e, p, what)) != NULL) {
        sdsfree(p);
        return m;
    }
    if (chk.repair) moveToLostFound(nsfd, e, p, "not a valid member");
    sdsfree(p);
    return NULL;
}

/* Check "len" against the count of members; rewrite it with --repair.
 * 0 when the collection has no member (a damaged key). */
static int checkLen(int keyfd, const char *keypath, long long count) {
    checkCountFile(keyfd, keypath, count, "members");
    if (count == 0) {
        checkProblem(keypath, "a collection without members (dredis deletes a collection with its last member)");
        return 0;
    }
    return 1;
}

/* Hashes (fields/) and sets (values/): every entry a valid member name,
 * the .names directory without orphans, "len" the count. */
static int checkMembers(int keyfd, const char *keypath, const char *ns, const char *what) {
    int missing;
    long long count = 0;
    int nsfd = openNamespace(keyfd, keypath, ns, &missing);
    if (nsfd < 0 && !missing) return 0;
    if (nsfd >= 0) {
        sds nspath = pathJoin(keypath, ns);
        int namesfd = openDirAt(nsfd, ".names");
        dirIter it;
        if (dirOpen(&it, nsfd, ".") == 0) {
            const char *e;
            int type;
            while ((e = dirNext(&it, &type)) != NULL) {
                sds m = memberOfEntry(nsfd, namesfd, e, type, nspath, what);
                if (m) count++;
                sdsfree(m);
                checkProgress(0);
            }
            dirClose(&it);
        }
        checkNamesDir(nsfd, nspath);
        if (namesfd >= 0) close(namesfd);
        close(nsfd);
        sdsfree(nspath);
    }
    return checkLen(keyfd, keypath, count);
}

/* ------------------------------------------------------------------------ */
/* Sorted sets                                                               */
/* ------------------------------------------------------------------------ */

typedef struct zsetDirs {
    int values, scores, vnames, snames; /* descriptors (-1: none) */
    sds vpath, spath;
} zsetDirs;

/* The score in values/<mf>: 1, 0 when missing, -1 when not a score. */
static int readStoredScore(const zsetDirs *z, const char *mf, double *score) {
    sds s;
    int r = readSmallFile(z->values, mf, 4096, &s);
    if (r == CHECK_MISSING) return 0;
    if (r == CHECK_ERR) return -1;
    size_t len = sdslen(s);
    while (len && s[len - 1] == '\n') len--;
    s[len] = '\0';
    int ok = zsetParseScore(s, len, score);
    sdsfree(s);
    if (ok) *score = zsetNormalizeScore(*score);
    return ok ? 1 : -1;
}

/* The raw name of a member's scores/ entry: <16 hex digits>_<member>. */
static sds scoreEntryRaw(double score, const char *m, size_t len) {
    char hex[ZSET_SCORE_HEX_LEN + 1];
    zsetScoreToHex(score, hex);
    sds s = sdsnewlen(hex, ZSET_SCORE_HEX_LEN);
    s = sdscatlen(s, "_", 1);
    return sdscatlen(s, m, len);
}

/* An index entry is stale unless its member exists with that very score. */
static int scoreEntryIsCurrent(const zsetDirs *z, const sds raw) {
    double s, want;
    if (sdslen(raw) <= ZSET_SCORE_HEX_LEN || raw[ZSET_SCORE_HEX_LEN] != '_' ||
        !zsetHexToScore(raw, ZSET_SCORE_HEX_LEN, &want))
        return 0;
    int hashed;
    sds mf = keynameEncode(raw + ZSET_SCORE_HEX_LEN + 1, sdslen(raw) - ZSET_SCORE_HEX_LEN - 1, &hashed);
    int r = readStoredScore(z, mf, &s);
    sdsfree(mf);
    return r == 1 && !memcmp(&s, &want, sizeof(s));
}

static void removeEntryAndName(int nsfd, int namesfd, const char *e, const char *p) {
    if (namesfd >= 0) unlinkat(namesfd, e, 0); /* its full name first: never a shortened name without it */
    removeStale(nsfd, e, p, "stale index entry");
}

/* scores/: every entry names a member with that score. */
static void checkScoreEntries(zsetDirs *z) {
    dirIter it;
    if (dirOpen(&it, z->scores, ".") < 0) return;
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        sds raw = memberOfEntry(z->scores, z->snames, e, type, z->spath, "score index entry");
        if (!raw) continue;
        if (!scoreEntryIsCurrent(z, raw)) {
            sds p = pathJoin(z->spath, e);
            checkProblem(p, "stale score index entry: no member with this score in values/");
            if (chk.repair) removeEntryAndName(z->scores, z->snames, e, p);
            sdsfree(p);
        }
        sdsfree(raw);
        checkProgress(0);
    }
    dirClose(&it);
}

/* Add the scores/ entry raw (encoded: enc), its full name first. */
static int addScoreEntry(zsetDirs *z, const sds raw, const sds enc, int hashed) {
    if (hashed) {
        if (z->snames < 0) {
            if (mkdirat(z->scores, ".names", 0755) < 0 && errno != EEXIST) return -1;
            if ((z->snames = openDirAt(z->scores, ".names")) < 0) return -1;
        }
        if (writeFileAt(z->snames, enc, raw, sdslen(raw)) < 0) return -1;
    }
    return writeFileAt(z->scores, enc, "", 0);
}

/* Does scores/ hold the entry raw (as enc, with its full name when
 * shortened)? */
static int hasScoreEntry(const zsetDirs *z, const sds raw, const sds enc, int hashed) {
    if (entryType(z->scores, enc) != DT_REG) return 0;
    if (!hashed) return 1;
    sds full;
    int ok = z->snames >= 0 && readSmallFile(z->snames, enc, sdslen(raw), &full) == CHECK_OK;
    if (ok) {
        ok = sdslen(full) == sdslen(raw) && !memcmp(full, raw, sdslen(raw));
        sdsfree(full);
    }
    return ok;
}

/* values/: every member holds a score and has its scores/ entry. Returns
 * the member count, -1 when a member holds no valid score. */
static long long checkZsetValues(zsetDirs *z) {
    dirIter it;
    long long count = 0, bad = 0;
    if (dirOpen(&it, z->values, ".") < 0) return 0;
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        sds m = memberOfEntry(z->values, z->vnames, e, type, z->vpath, "member");
        if (!m) continue;
        count++;
        double score;
        sds p = pathJoin(z->vpath, e);
        if (readStoredScore(z, e, &score) != 1) {
            checkProblem(p, "does not hold a score");
            bad++;
        } else {
            int hashed;
            sds raw = scoreEntryRaw(score, m, sdslen(m));
            sds enc = keynameEncode(raw, sdslen(raw), &hashed);
            if (!hasScoreEntry(z, raw, enc, hashed)) {
                sds sp = pathJoin(z->spath, enc);
                checkProblem(sp, "missing score index entry for member %s", p);
                if (chk.repair) {
                    if (addScoreEntry(z, raw, enc, hashed) == 0) checkRepaired(sp, "score index entry added");
                    else checkProblem(sp, "cannot add: %s", strerror(errno));
                }
                sdsfree(sp);
            }
            sdsfree(raw);
            sdsfree(enc);
        }
        sdsfree(p);
        sdsfree(m);
        checkProgress(0);
    }
    dirClose(&it);
    return bad ? -1 : count;
}

static int checkZset(int keyfd, const char *keypath) {
    zsetDirs z = {-1, -1, -1, -1, NULL, NULL};
    int missing_v, missing_s, ok = 1;
    z.values = openNamespace(keyfd, keypath, "values", &missing_v);
    z.scores = openNamespace(keyfd, keypath, "scores", &missing_s);
    if ((z.values < 0 && !missing_v) || (z.scores < 0 && !missing_s)) ok = 0;
    z.vpath = pathJoin(keypath, "values");
    z.spath = pathJoin(keypath, "scores");
    long long count = 0;
    if (ok && z.scores < 0 && z.values >= 0 && chk.repair) {
        /* every entry is missing: start the index afresh */
        if ((mkdirat(keyfd, "scores", 0755) == 0 || errno == EEXIST)) z.scores = openDirAt(keyfd, "scores");
    }
    if (ok && z.values >= 0) {
        z.vnames = openDirAt(z.values, ".names");
        z.snames = z.scores >= 0 ? openDirAt(z.scores, ".names") : -1;
        if (z.scores >= 0) {
            checkScoreEntries(&z);
            count = checkZsetValues(&z);
            checkNamesDir(z.scores, z.spath);
        } else {
            checkProblem(z.spath, "missing: the score index of a sorted set");
            count = countMembers(z.values);
        }
        checkNamesDir(z.values, z.vpath);
    } else if (ok && z.scores >= 0) {
        checkScoreEntries(&z); /* no member: every entry is stale */
    }
    if (count < 0) ok = 0;
    if (ok) ok = checkLen(keyfd, keypath, count);
    int fds[4] = {z.values, z.scores, z.vnames, z.snames};
    for (int i = 0; i < 4; i++)
        if (fds[i] >= 0) close(fds[i]);
    sdsfree(z.vpath);
    sdsfree(z.spath);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* A key                                                                     */
/* ------------------------------------------------------------------------ */

/* "expire" and its entry <db>/.expires/<ms>_<fname>. 0 when damaged. */
static int checkExpire(int db, int keyfd, int expfd, const char *fname, const char *keypath) {
    long long when;
    int r = readNumberFile(keyfd, keypath, "expire", &when);
    if (r == CHECK_MISSING) return 1;
    if (r == CHECK_ERR) return 0;
    sds p = pathJoin(keypath, "expire");
    if (when < 0) {
        checkProblem(p, "a negative time");
        sdsfree(p);
        return 0;
    }
    sds entry = sdscatprintf(sdsempty(), "%lld_%s", when, fname);
    if (expfd < 0 || entryType(expfd, entry) != DT_REG) {
        sds ep = sdscatprintf(sdsempty(), "%d/.expires/%s", db, entry);
        checkProblem(ep, "missing expiry index entry for %s (the key would expire only when touched)", p);
        if (chk.repair) {
            if (expfd >= 0 && writeFileAt(expfd, entry, "", 0) == 0) checkRepaired(ep, "expiry index entry added");
            else checkProblem(ep, "cannot add: %s", expfd < 0 ? "no .expires directory" : strerror(errno));
        }
        sdsfree(ep);
    }
    sdsfree(entry);
    sdsfree(p);
    return 1;
}

/* The entries of the key directory that no part of the key accounts for. */
static void checkKeyEntries(int keyfd, const char *keypath, int type, int hashed) {
    dirIter it;
    if (dirOpen(&it, keyfd, ".") < 0) return;
    const char *e;
    int etype;
    while ((e = dirNext(&it, &etype)) != NULL) {
        if (!strcmp(e, "type") || !strcmp(e, "expire") || (hashed && !strcmp(e, "name"))) continue;
        if (type != T_NONE && typeOwnsEntry(type, e)) continue;
        sds p = pathJoin(keypath, e);
        checkProblem(p, "stray entry: no part of a %s key", type == T_NONE ? "dredis" : typeNames[type]);
        if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
        sdsfree(p);
    }
    dirClose(&it);
}

/* The checks of the key's type; 0 when it is damaged beyond repair. */
static int checkKeyLayout(int type, int keyfd, const char *keypath) {
    switch (type) {
    case T_STRING:
        if (entryType(keyfd, "value") == DT_REG) return 1;
        sds p = pathJoin(keypath, "value");
        checkProblem(p, "missing or not a regular file: a string key without its value");
        sdsfree(p);
        return 0;
    case T_HASH: return checkMembers(keyfd, keypath, "fields", "field");
    case T_SET: return checkMembers(keyfd, keypath, "values", "member");
    case T_ZSET: return checkZset(keyfd, keypath);
    case T_LIST: return checkList(keyfd, keypath);
    case T_STREAM: return checkStream(keyfd, keypath);
    }
    return 0;
}

/* The key's type from its "type" file; T_NONE (reported) when it has none. */
static int readKeyType(int keyfd, const char *keypath) {
    sds s;
    sds p = pathJoin(keypath, "type");
    int r = readSmallFile(keyfd, "type", 64, &s), type = T_NONE;
    if (r == CHECK_MISSING) checkProblem(p, "missing: a directory without a type is not a key");
    else if (r == CHECK_ERR) checkProblem(p, "cannot read: %s", errno == EFBIG ? "not a type" : strerror(errno));
    else if ((type = typeOf(s)) == T_NONE) checkProblem(p, "not a type: '%.20s'", s);
    if (r == CHECK_OK) sdsfree(s);
    sdsfree(p);
    return type;
}

int checkKey(int db, int dbfd, int expfd, const char *fname) {
    char dbname[16];
    snprintf(dbname, sizeof(dbname), "%d", db);
    sds path = pathJoin(dbname, fname);
    int keyfd = openDirAt(dbfd, fname), ok = 1, type = T_NONE, hashed = keynameIsHashed(fname, strlen(fname));
    if (keyfd < 0) {
        checkProblem(path, "stray entry in a database: %s", errno == ENOTDIR || errno == ELOOP ? "not a key directory"
                                                                                                : strerror(errno));
        if (chk.repair) moveToLostFound(dbfd, fname, path, "stray entry");
        sdsfree(path);
        return 0;
    }
    chk.keys++;
    sds raw = resolveName(keyfd, "name", fname, path, "key");
    if (!raw) ok = 0;
    sdsfree(raw);
    type = readKeyType(keyfd, path);
    if (type == T_NONE) ok = 0;
    if (!checkExpire(db, keyfd, expfd, fname, path)) ok = 0;
    if (type != T_NONE && !checkKeyLayout(type, keyfd, path)) ok = 0;
    /* a damaged key goes whole; stray entries of a good one one by one */
    if (ok || (!chk.repair && type != T_NONE)) checkKeyEntries(keyfd, path, type, hashed);
    close(keyfd);
    if (!ok && chk.repair) moveToLostFound(dbfd, fname, path, "damaged key");
    checkProgress(0);
    sdsfree(path);
    return 1;
}
