/* check.c - dredis-check ROOT_DIR: the program, its options and the walk of
 * a tree: the lock on ROOT_DIR (the journal, as dredis-server locks it),
 * the journal, the leftovers in .tmp and .trash, the top-level entries,
 * each database with its keys (check_key.c) and its expiry index.
 * docs/check.md is the manual; docs/storage-format.md the specification
 * checked against. */
#include "dredis_check.h"
#include "journal.h"
#include "keyname.h"
#include "util.h"
#include "zmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>

checkState chk;

static void usage(FILE *f) {
    fprintf(f, "Usage: dredis-check [--repair | --force] ROOT_DIR\n"
               "Verify a dredis data directory against docs/storage-format.md.\n"
               "  --repair  fix what follows from the data (counts, indexes, journal,\n"
               "            leftovers); move what cannot be fixed to ROOT_DIR/lost+found\n"
               "  --force   check even while a server uses the tree (read-only; what a\n"
               "            running server is changing may be reported)\n"
               "Exit status: 0 clean (or all repaired), 1 problems remain, 2 could not run.\n");
}

static void die(const char *fmt, const char *arg) {
    checkProgressEnd();
    fprintf(stderr, "dredis-check: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(CHECK_EXIT_FAILED);
}

/* ------------------------------------------------------------------------ */
/* The lock                                                                  */
/* ------------------------------------------------------------------------ */

/* dredis-server holds an exclusive flock() on ROOT_DIR/.journal while it
 * runs (journal.c). A check shares it (a server cannot start meanwhile); a
 * repair takes it exclusively, making the journal when there is none.
 * Returns the descriptor (-1: no journal, nothing to lock). */
static int lockTree(int force) {
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (chk.repair ? O_CREAT : 0);
    int fd = openat(chk.rootfd, ".journal", flags, 0644);
    if (fd < 0) {
        if (errno == ENOENT) return -1;
        die("cannot open .journal: %s", strerror(errno));
    }
    if (flock(fd, (chk.repair ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return fd;
    if (errno != EWOULDBLOCK) die("cannot lock .journal: %s", strerror(errno));
    if (!force)
        die("%s is in use: a dredis-server (or another dredis-check --repair) holds its journal locked; stop it "
            "first, or check a snapshot of it (--force checks it anyway, read-only)", chk.root);
    fprintf(stderr, "dredis-check: %s is in use by a running server: checking it anyway (--force); what the "
            "server changes meanwhile may be reported\n", chk.root);
    return fd;
}

/* ------------------------------------------------------------------------ */
/* The journal                                                               */
/* ------------------------------------------------------------------------ */

#define JREC_MAX (1 + 4 * (2 + 65535) + 4)

typedef struct journalScan {
    long long records, open_records; /* all records; those of an unfinished transaction */
    int open;                        /* a BEGIN without its COMMIT */
    long long bad_at;                /* offset of the first byte that is not a whole record (-1: none) */
    long long size;
    int unknown_type;
    long long writes, open_writes;   /* J_WRITEs to make again (committed, after the last J_SYNCED); the open ones */
} journalScan;

/* Record at p (avail bytes): its length, 0 when it is not a whole valid one. */
static size_t journalRecordAt(const unsigned char *p, size_t avail) {
    size_t pos = 1;
    for (int j = 0; j < 4; j++) {
        if (pos + 2 > avail) return 0;
        size_t l = (size_t)p[pos] | ((size_t)p[pos + 1] << 8);
        pos += 2 + l;
        if (pos > avail) return 0;
    }
    if (pos + 4 > avail) return 0;
    uint32_t want = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16 |
                    (uint32_t)p[pos + 3] << 24;
    return journalCrc32(p, pos) == want ? pos + 4 : 0;
}

/* Read the journal as recovery would, through a buffer of two records. */
static void scanJournal(int fd, journalScan *js) {
    memset(js, 0, sizeof(*js));
    js->bad_at = -1;
    struct stat sb;
    if (fstat(fd, &sb) < 0) die("cannot read .journal: %s", strerror(errno));
    js->size = sb.st_size;
    size_t cap = 2 * JREC_MAX, have = 0, pos = 0;
    unsigned char *buf = zmalloc(cap);
    long long off = 0; /* file offset of buf[0] */
    for (;;) {
        if (have - pos < JREC_MAX && off + (long long)have < js->size) {
            memmove(buf, buf + pos, have - pos);
            off += (long long)pos;
            have -= pos;
            pos = 0;
            ssize_t n = pread(fd, buf + have, cap - have, off + (long long)have);
            if (n < 0) die("cannot read .journal: %s", strerror(errno));
            have += (size_t)n;
        }
        if (pos == have) break;
        size_t l = journalRecordAt(buf + pos, have - pos);
        char type = (char)buf[pos];
        if (!l || !strchr("BCNRDMXWS", type)) {
            js->bad_at = off + (long long)pos;
            js->unknown_type = l != 0;
            break;
        }
        js->records++;
        if (type == J_BEGIN || type == J_COMMIT) {
            js->open = type == J_BEGIN;
            js->open_records = 0;
            if (type == J_COMMIT) js->writes += js->open_writes;
            js->open_writes = 0;
        } else if (type == J_SYNCED) {
            js->writes = js->open_writes = 0;
        } else if (type == J_WRITE) {
            js->open_writes++;
        } else {
            js->open_records++;
        }
        pos += l;
    }
    zfree(buf);
}

#define JOURNAL_TORN 1
#define JOURNAL_OPEN 2
#define JOURNAL_REDO 4

/* Report what recovery would do: JOURNAL_TORN | JOURNAL_OPEN |
 * JOURNAL_REDO (0: none). */
static int reportJournal(const journalScan *js) {
    int needs = 0;
    if (js->bad_at >= 0) {
        checkProblem(".journal", "%s at byte %lld (%lld bytes to the end): the start of a server or --repair "
                     "drops them", js->unknown_type ? "a record of an unknown type" : "not a whole record (a write "
                     "cut short, or a damaged journal)", js->bad_at, js->size - js->bad_at);
        needs |= JOURNAL_TORN;
    }
    if (js->open && js->open_records > 0) {
        checkProblem(".journal", "an unfinished transaction (%lld changes): the tree may hold half a command until "
                     "a server starts on it or --repair undoes it", js->open_records);
        needs |= JOURNAL_OPEN;
    }
    if (js->writes > 0) {
        /* DREDIS_FSYNC=always: after a power cut the tree may lack them */
        checkProblem(".journal", "%lld writes the journal carries (DREDIS_FSYNC=always): after a power cut the tree "
                     "may lack them until a server starts on it or --repair makes them again", js->writes);
        needs |= JOURNAL_REDO;
    }
    return needs;
}

/* Undo the unfinished transaction as the server does at start-up
 * (journal.c), with the journal's own lock. */
static void replayJournal(int *lockfd, int needs) {
    if (mkdirat(chk.rootfd, ".trash", 0755) < 0 && errno != EEXIST) die("cannot create .trash: %s", strerror(errno));
    int trashfd = openDirAt(chk.rootfd, ".trash");
    if (trashfd < 0) die("cannot open .trash: %s", strerror(errno));
    close(*lockfd); /* journalOpen takes the lock on a descriptor of its own */
    *lockfd = -1;
    char *err = NULL;
    if (journalOpen(chk.rootfd, trashfd, &err) < 0) die("cannot replay the journal: %s", err);
    if (needs & JOURNAL_TORN) checkRepaired(".journal", "the incomplete record dropped (the journal emptied)");
    if (needs & JOURNAL_OPEN)
        checkRepaired(".journal", "replayed: %lld unfinished transaction undone, as at a server's start",
                      journalRecoveredTransactions());
    if (needs & JOURNAL_REDO)
        checkRepaired(".journal", "replayed: %lld writes made again, as at a server's start", journalRedoneWrites());
    close(trashfd);
}

/* ------------------------------------------------------------------------ */
/* .tmp and .trash                                                           */
/* ------------------------------------------------------------------------ */

/* dredis names its entries <letter><pid>-<n> (j, c: the journal's and
 * dredis-check's own). */
static int isWorkName(const char *e) {
    if (!(e[0] >= 'a' && e[0] <= 'z')) return 0;
    const char *dash = strchr(e + 1, '-');
    unsigned long long a, b;
    return dash && dash > e + 1 && string2ull(e + 1, (size_t)(dash - e - 1), &a) &&
           string2ull(dash + 1, strlen(dash + 1), &b);
}

/* Stray entries are reported; with --repair everything is removed, as the
 * server does at start-up (nothing there is data once the journal is
 * replayed). keep: the journal still needs .tmp (no repair). */
static void checkWorkArea(const char *name, int keep) {
    dirIter it;
    if (dirOpen(&it, chk.rootfd, name) < 0) {
        if (errno != ENOENT) checkProblem(name, "cannot open: %s", errno == ENOTDIR ? "not a directory" : strerror(errno));
        return;
    }
    const char *e;
    int type;
    long long leftovers = 0, removed = 0;
    while ((e = dirNext(&it, &type)) != NULL) {
        int stray = !isWorkName(e) || (type != DT_REG && type != DT_DIR);
        sds p = pathJoin(name, e);
        if (stray) checkProblem(p, "stray entry: not one of dredis's (<letter><pid>-<n>, a file or directory)");
        else leftovers++;
        if (chk.repair && !keep) {
            if (removeTree(it.fd, e) == 0) {
                removed++;
                if (stray) checkRepaired(p, "removed");
            } else {
                checkProblem(p, "cannot remove: %s", strerror(errno));
            }
        }
        sdsfree(p);
        checkProgress(0);
    }
    dirClose(&it);
    if (leftovers && !chk.repair)
        fprintf(stderr, "dredis-check: %s holds %lld entries that the next start of the server discards\n", name,
                leftovers);
    else if (removed) fprintf(stderr, "dredis-check: %s: %lld entries removed\n", name, removed);
}

/* ------------------------------------------------------------------------ */
/* Databases and their expiry index                                          */
/* ------------------------------------------------------------------------ */

/* Every entry <ms>_<key file name> names a key whose expire is <ms>. */
static void checkExpiryIndex(int db, int dbfd) {
    char path[32];
    snprintf(path, sizeof(path), "%d/.expires", db);
    dirIter it;
    if (dirOpen(&it, dbfd, ".expires") < 0) {
        if (errno != ENOENT) checkProblem(path, "cannot open: %s", errno == ENOTDIR ? "not a directory" : strerror(errno));
        return;
    }
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        const char *us = strchr(e, '_');
        long long when, expire = -1;
        int valid = type == DT_REG && us && string2ll(e, (size_t)(us - e), &when) && when >= 0;
        sds p = pathJoin(path, e);
        if (!valid) {
            checkProblem(p, "stray entry: not '<ms>_<key file name>'");
            if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
        } else {
            int keyfd = openDirAt(dbfd, us + 1);
            sds s = NULL;
            if (keyfd >= 0 && readSmallFile(keyfd, "expire", 64, &s) == CHECK_OK && !string2ll(s, sdslen(s), &expire))
                expire = -1;
            sdsfree(s);
            if (keyfd >= 0) close(keyfd);
            if (expire != when) {
                if (keyfd < 0) checkProblem(p, "stale expiry index entry: no such key");
                else if (expire < 0) checkProblem(p, "stale expiry index entry: the key has no expire");
                else checkProblem(p, "stale expiry index entry: the key's expire is %lld", expire);
                if (chk.repair) removeStale(it.fd, e, p, "stale entry");
            }
        }
        sdsfree(p);
        checkProgress(0);
    }
    dirClose(&it);
}

static void checkDatabase(int db) {
    char name[16];
    snprintf(name, sizeof(name), "%d", db);
    int dbfd = openDirAt(chk.rootfd, name);
    if (dbfd < 0) {
        if (errno != ENOENT) checkProblem(name, "cannot open: %s", errno == ENOTDIR ? "not a directory" : strerror(errno));
        return; /* a missing database is made empty at start-up */
    }
    int expfd = openDirAt(dbfd, ".expires");
    if (expfd < 0 && errno != ENOENT) {
        sds p = pathJoin(name, ".expires");
        checkProblem(p, "cannot open: %s", errno == ENOTDIR ? "not a directory" : strerror(errno));
        sdsfree(p);
    } else if (expfd < 0 && chk.repair) {
        /* the server makes it at start-up; a repair adds entries to it */
        if (mkdirat(dbfd, ".expires", 0755) == 0) expfd = openDirAt(dbfd, ".expires");
    }
    dirIter it;
    if (dirOpen(&it, dbfd, ".") < 0) {
        checkProblem(name, "cannot list: %s", strerror(errno));
    } else {
        const char *e;
        int type;
        while ((e = dirNext(&it, &type)) != NULL) {
            if (e[0] != '.') {
                checkKey(db, it.fd, expfd, e);
                continue;
            }
            if (!strcmp(e, ".expires") && type == DT_DIR) continue;
            sds p = pathJoin(name, e);
            checkProblem(p, "stray entry (names starting with '.' are dredis's own)");
            if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
            sdsfree(p);
        }
        dirClose(&it);
    }
    if (expfd >= 0) close(expfd);
    checkExpiryIndex(db, dbfd);
    close(dbfd);
}

/* .functions/: one regular file a function library, named by the
 * encoding of the library name on its "#!lua name=..." first line. */
static void checkLibraries(void) {
    dirIter it;
    if (dirOpen(&it, chk.rootfd, ".functions") < 0) {
        checkProblem(".functions", "cannot list the function libraries: %s", strerror(errno));
        return;
    }
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        sds code = NULL, name = NULL, expect = NULL;
        const char *why = NULL;
        if (type != DT_REG) why = "not a regular file (a function library is one)";
        else if (readSmallFile(it.fd, e, 64 << 20, &code) != CHECK_OK) why = "cannot be read";
        if (!why) {
            size_t first = strcspn(code, "\n");
            const char *n = strstr(code, "name=");
            if (sdslen(code) < 2 || memcmp(code, "#!", 2) != 0 || !n || (size_t)(n - code) > first) {
                why = "not a function library (no \"#!lua name=...\" first line)";
            } else {
                int hashed;
                name = sdsnewlen(n + 5, strcspn(n + 5, " \t\r\n"));
                expect = keynameEncode(name, sdslen(name), &hashed);
                if (strcmp(expect, e) != 0) why = "its file name is not the encoding of the library name it holds";
            }
        }
        if (why) {
            checkProblemAt(".functions", e, "%s", why);
            if (chk.repair) moveToLostFound(it.fd, e, e, why);
        }
        sdsfree(code);
        sdsfree(name);
        sdsfree(expect);
    }
    dirClose(&it);
}

/* ROOT_DIR holds 0..15, .journal, .reserve (the space reserve), .tmp,
 * .trash, .functions, lost+found, and after a clean shutdown .replication
 * (the replication id and offset). */
static void checkTopLevel(void) {
    dirIter it;
    if (dirOpen(&it, chk.rootfd, ".") < 0) die("cannot list ROOT_DIR: %s", strerror(errno));
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        long long db;
        char back[32];
        if (type == DT_DIR && string2ll(e, strlen(e), &db) && db >= 0 && db < CHECK_DBNUM &&
            (ll2string(back, sizeof(back), db), !strcmp(back, e)))
            continue;
        if (!strcmp(e, ".functions") && type == DT_DIR) {
            checkLibraries();
            continue;
        }
        if (((!strcmp(e, ".journal") || !strcmp(e, ".replication") || !strcmp(e, ".reserve")) && type == DT_REG) ||
            ((!strcmp(e, ".tmp") || !strcmp(e, ".trash") || !strcmp(e, LOST_FOUND)) && type == DT_DIR))
            continue;
        checkProblem(e, "stray entry: ROOT_DIR holds only the databases 0..15, .journal, .replication, .reserve, "
                     ".tmp, .trash, .functions and " LOST_FOUND);
        if (chk.repair) moveToLostFound(it.fd, e, e, "stray entry");
    }
    dirClose(&it);
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    int force = 0;
    const char *root = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repair")) chk.repair = 1;
        else if (!strcmp(argv[i], "--force")) force = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CHECK_EXIT_CLEAN;
        } else if (argv[i][0] == '-' || root) {
            usage(stderr);
            return CHECK_EXIT_FAILED;
        } else root = argv[i];
    }
    if (!root || (force && chk.repair)) {
        if (root) fprintf(stderr, "dredis-check: --force checks only: it cannot be used with --repair\n");
        usage(stderr);
        return CHECK_EXIT_FAILED;
    }
    chk.root = root;
    chk.progress = isatty(STDERR_FILENO);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    chk.now_ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    chk.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (chk.rootfd < 0) die("cannot open ROOT_DIR: %s", strerror(errno));
    int lockfd = lockTree(force);

    /* the journal first: an unfinished transaction is undone before anything
     * else is looked at, and needs .tmp as it is */
    int journal_pending = 0;
    if (lockfd >= 0) {
        journalScan js;
        scanJournal(lockfd, &js);
        journal_pending = reportJournal(&js);
        if (journal_pending && chk.repair) {
            replayJournal(&lockfd, journal_pending);
            journal_pending = 0;
        }
    }
    checkWorkArea(".tmp", journal_pending);
    checkWorkArea(".trash", journal_pending);
    checkTopLevel();
    for (int db = 0; db < CHECK_DBNUM; db++) {
        checkDatabase(db);
        checkProgress(1);
    }
    if (chk.repair && syncfs(chk.rootfd) < 0) fprintf(stderr, "dredis-check: syncfs: %s\n", strerror(errno));
    checkProgressEnd();
    long long left = chk.problems - chk.repaired;
    fprintf(stderr, "dredis-check: %lld keys, %lld entries: %s", chk.keys, chk.entries,
            chk.problems ? "" : "no problem found\n");
    if (chk.problems)
        fprintf(stderr, "%lld problems found, %lld repaired, %lld remaining%s\n", chk.problems, chk.repaired,
                left > 0 ? left : 0, left > 0 && !chk.repair ? " (--repair fixes what the data allows)" : "");
    if (chk.lost) fprintf(stderr, "dredis-check: what could not be repaired is in %s/%s\n", root, chk.lost);
    journalClose();
    if (lockfd >= 0) close(lockfd);
    close(chk.rootfd);
    sdsfree(chk.lost);
    return left > 0 ? CHECK_EXIT_PROBLEMS : CHECK_EXIT_CLEAN;
}
