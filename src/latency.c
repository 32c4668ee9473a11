/* latency.c - the latency monitor (LATENCY LATEST/HISTORY/RESET/GRAPH/
 * DOCTOR/HISTOGRAM/HELP) and its latency-monitor-threshold setting.
 *
 * An event that took at least the threshold (ms, 0 = off) is recorded in
 * its series: one sample per second (the worst of that second), the last
 * LATENCY_TS_LEN seconds with samples kept, and the all-time worst, as
 * Redis. Events: "command" and "fast-command" (call()), "expire-cycle"
 * (the active expiry pass), and dredis's own "store-sync" (the fsync of a
 * batch of writes that replies wait for, DREDIS_FSYNC=always).
 *
 * LATENCY HISTOGRAM reports every command's run time in powers of two of
 * microseconds (cumulative counts), the buckets Redis's reply shows. */
#include "server.h"
#include "dict.h"
#include <string.h>
#include <strings.h>
#include <time.h>

#define LATENCY_TS_LEN 160
#define HIST_BUCKETS 48 /* 2^47 us: beyond any run time */

typedef struct latencySample {
    long long time;    /* unix seconds, 0 = unused */
    long long latency; /* ms */
} latencySample;

typedef struct latencySeries {
    int idx;           /* where the next second goes */
    long long max;
    latencySample samples[LATENCY_TS_LEN];
} latencySeries;

static dict *events;   /* event name -> latencySeries */

/* per command run-time histograms (keyed by full name) */
typedef struct cmdHistogram {
    long long calls;
    long long buckets[HIST_BUCKETS]; /* [k]: runs of at most 2^k us */
} cmdHistogram;
static dict *histograms;

void latencyInit(void) {
    events = dictCreate();
    histograms = dictCreate();
}

static void zfreeValue(void *v) { zfree(v); }

/* ---- recording ---- */

void latencyAddSampleIfNeeded(const char *event, long long ms) {
    if (!server.latency_monitor_threshold || ms < server.latency_monitor_threshold) return;
    latencySeries *ts = dictFetch(events, event, strlen(event));
    if (!ts) {
        ts = zcalloc(sizeof(*ts));
        dictAdd(events, event, strlen(event), ts);
    }
    long long now = (long long)time(NULL);
    if (ms > ts->max) ts->max = ms;
    int prev = (ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
    if (ts->samples[prev].time == now) {
        if (ms > ts->samples[prev].latency) ts->samples[prev].latency = ms;
        return;
    }
    ts->samples[ts->idx].time = now;
    ts->samples[ts->idx].latency = ms;
    ts->idx = (ts->idx + 1) % LATENCY_TS_LEN;
}

/* call(): a command's run time (us) for its histogram and its event */
void latencyRecordCommand(redisCommand *cmd, long long us) {
    const char *name = cmd->fullname;
    cmdHistogram *h = dictFetch(histograms, name, strlen(name));
    if (!h) {
        h = zcalloc(sizeof(*h));
        dictAdd(histograms, name, strlen(name), h);
    }
    int k = 0;
    while (k < HIST_BUCKETS - 1 && (1LL << k) < us) k++;
    h->buckets[k]++;
    h->calls++;
    latencyAddSampleIfNeeded((cmd->flags & CMD_FAST) ? "fast-command" : "command", us / 1000);
}

/* CONFIG RESETSTAT */
void latencyResetHistograms(void) {
    dictRelease(histograms, zfreeValue);
    histograms = dictCreate();
}

/* ---- LATENCY LATEST / HISTORY / RESET ---- */

static void latencyLatestCommand(client *c) {
    dictIterator it;
    dictEntry *e;
    addReplyArrayLen(c, (long)dictSize(events));
    dictIterInit(&it, events);
    while ((e = dictNext(&it)) != NULL) {
        latencySeries *ts = e->val;
        int last = (ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        addReplyArrayLen(c, 4);
        addReplyBulk(c, e->key, sdslen(e->key));
        addReplyLongLong(c, ts->samples[last].time);
        addReplyLongLong(c, ts->samples[last].latency);
        addReplyLongLong(c, ts->max);
    }
}

/* The samples of ts, oldest first, through fn. */
static int seriesSamples(latencySeries *ts, latencySample *out) {
    int n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        latencySample *s = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (s->time) out[n++] = *s;
    }
    return n;
}

static void latencyHistoryCommand(client *c) {
    latencySeries *ts = dictFetch(events, c->argv[2], sdslen(c->argv[2]));
    if (!ts) {
        addReplyArrayLen(c, 0);
        return;
    }
    latencySample s[LATENCY_TS_LEN];
    int n = seriesSamples(ts, s);
    addReplyArrayLen(c, n);
    for (int i = 0; i < n; i++) {
        addReplyArrayLen(c, 2);
        addReplyLongLong(c, s[i].time);
        addReplyLongLong(c, s[i].latency);
    }
}

/* Forget the events named (case-insensitively), all without a name. */
static long resetEvents(const char *name) {
    dictIterator it;
    dictEntry *e;
    long n = 0;
    dictIterInit(&it, events);
    while ((e = dictNext(&it)) != NULL) {
        if (name && strcasecmp(e->key, name)) continue;
        zfree(dictDelete(events, e->key, sdslen(e->key)));
        n++;
    }
    return n;
}

static void latencyResetCommand(client *c) {
    long n = 0;
    if (c->argc == 2) n = resetEvents(NULL);
    for (int j = 2; j < c->argc; j++) n += resetEvents(c->argv[j]);
    addReplyLongLong(c, n);
}

/* ---- LATENCY GRAPH ---- */

/* How long ago t was: 12s, 5m, 3h, 2d (as Redis's graph labels). */
static void agoLabel(long long t, char *buf, size_t len) {
    long long e = (long long)time(NULL) - t;
    if (e < 60) snprintf(buf, len, "%llds", e);
    else if (e < 3600) snprintf(buf, len, "%lldm", e / 60);
    else if (e < 86400) snprintf(buf, len, "%lldh", e / 3600);
    else snprintf(buf, len, "%lldd", e / 86400);
}

#define GRAPH_COLS 80
#define GRAPH_ROWS 4

/* Our own rendering: a header like Redis's, then one column per sample
 * (the newest GRAPH_COLS), bars GRAPH_ROWS high scaled between the lowest
 * and highest sample, and each column's age written downwards below. */
static sds renderGraph(const char *event, latencySeries *ts) {
    latencySample s[LATENCY_TS_LEN];
    int n = seriesSamples(ts, s), first = n > GRAPH_COLS ? n - GRAPH_COLS : 0;
    long long lo = 0, hi = 0;
    for (int i = 0; i < n; i++) {
        if (i == 0 || s[i].latency < lo) lo = s[i].latency;
        if (i == 0 || s[i].latency > hi) hi = s[i].latency;
    }
    sds g = sdscatprintf(sdsempty(), "%s - high %lld ms, low %lld ms (all time high %lld ms)\n", event, hi, lo,
                         ts->max);
    for (int j = 0; j < GRAPH_COLS; j++) g = sdscatlen(g, "-", 1);
    g = sdscatlen(g, "\n", 1);
    for (int row = GRAPH_ROWS; row >= 1; row--) {
        for (int i = first; i < n; i++) {
            long long h = hi == lo ? GRAPH_ROWS : 1 + (s[i].latency - lo) * (GRAPH_ROWS - 1) / (hi - lo);
            g = sdscatlen(g, h >= row ? "#" : " ", 1);
        }
        g = sdscatlen(g, "\n", 1);
    }
    char labels[GRAPH_COLS][24];
    size_t longest = 0;
    for (int i = first; i < n; i++) {
        agoLabel(s[i].time, labels[i - first], sizeof(labels[0]));
        if (strlen(labels[i - first]) > longest) longest = strlen(labels[i - first]);
    }
    for (size_t row = 0; row < longest; row++) {
        for (int i = first; i < n; i++) {
            const char *l = labels[i - first];
            g = sdscatlen(g, row < strlen(l) ? &l[row] : " ", 1);
        }
        g = sdscatlen(g, "\n", 1);
    }
    return g;
}

static void latencyGraphCommand(client *c) {
    dictEntry *e = dictFind(events, c->argv[2], sdslen(c->argv[2]));
    if (!e) {
        addReplyErrorFormat(c, "ERR No samples available for event '%s'", c->argv[2]);
        return;
    }
    sds g = renderGraph(e->key, e->val);
    addReplyVerbatim(c, g, sdslen(g), "txt");
    sdsfree(g);
}

/* ---- LATENCY DOCTOR ---- */

static sds eventReport(sds r, int num, const char *event, latencySeries *ts) {
    latencySample s[LATENCY_TS_LEN];
    int n = seriesSamples(ts, s);
    long long sum = 0, oldest = 0, mad = 0;
    for (int i = 0; i < n; i++) {
        sum += s[i].latency;
        if (!oldest || s[i].time < oldest) oldest = s[i].time;
    }
    long long avg = n ? sum / n : 0, period = n ? (long long)time(NULL) - oldest : 0;
    if (n && period == 0) period = 1;
    for (int i = 0; i < n; i++) mad += s[i].latency > avg ? s[i].latency - avg : avg - s[i].latency;
    if (n) mad /= n;
    return sdscatprintf(r, "%d. %s: %d latency spikes (average %lldms, mean deviation %lldms, period %.2f sec). "
                           "Worst all time event %lldms.\n",
                        num, event, n, avg, mad, n ? (double)period / n : 0.0, ts->max);
}

/* What each event means in dredis, for the report. */
static const char *eventAdvice(const char *event) {
    if (!strcmp(event, "command") || !strcmp(event, "fast-command"))
        return "commands wait on the disk: check SLOWLOG GET for the commands and keys involved, and the "
               "storage's latency (iostat).";
    if (!strcmp(event, "expire-cycle")) return "the active expiry pass deleted many or large keys from disk.";
    if (!strcmp(event, "store-sync")) return "fsync of the tree is slow: the disk is busy or remote.";
    return "";
}

static void latencyDoctorCommand(client *c) {
    sds r = sdsempty();
    if (dictSize(events) == 0 && !server.latency_monitor_threshold) {
        r = sdscat(r, "Latency monitoring is disabled in this dredis instance. You may use \"CONFIG SET "
                      "latency-monitor-threshold <milliseconds>.\" in order to enable it.\n");
    } else if (dictSize(events) == 0) {
        r = sdscat(r, "No latency spikes have been observed: every monitored event took less than "
                      "latency-monitor-threshold.\n");
    } else {
        r = sdscat(r, "Latency spikes observed in this dredis instance:\n\n");
        dictIterator it;
        dictEntry *e;
        int num = 0;
        dictIterInit(&it, events);
        while ((e = dictNext(&it)) != NULL) {
            r = eventReport(r, ++num, e->key, e->val);
            r = sdscatprintf(r, "   %s\n", eventAdvice(e->key));
        }
    }
    addReplyVerbatim(c, r, sdslen(r), "txt");
    sdsfree(r);
}

/* ---- LATENCY HISTOGRAM ---- */

static void replyHistogram(client *c, const char *name, cmdHistogram *h) {
    addReplyBulkCString(c, name);
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "calls");
    addReplyLongLong(c, h->calls);
    addReplyBulkCString(c, "histogram_usec");
    int n = 0;
    for (int k = 0; k < HIST_BUCKETS; k++)
        if (h->buckets[k]) n++;
    addReplyMapLen(c, n);
    long long cum = 0;
    for (int k = 0; k < HIST_BUCKETS; k++) {
        if (!h->buckets[k]) continue;
        cum += h->buckets[k];
        addReplyLongLong(c, 1LL << k);
        addReplyLongLong(c, cum);
    }
}

typedef struct histogramReply {
    client *c;
    long n;
    const char *only;  /* a container's name: its subcommands */
} histogramReply;

static void replyCommandHistogram(redisCommand *cmd, void *ud) {
    histogramReply *hr = ud;
    if (cmd->subcommands && !hr->only)
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) replyCommandHistogram(sub, ud);
    if (hr->only) {
        size_t l = strlen(hr->only);
        if (strncmp(cmd->fullname, hr->only, l) || cmd->fullname[l] != '|') return;
    }
    cmdHistogram *h = dictFetch(histograms, cmd->fullname, strlen(cmd->fullname));
    if (!h || !h->calls) return;
    replyHistogram(hr->c, cmd->fullname, h);
    hr->n++;
}

/* LATENCY HISTOGRAM [command ...]: unknown names are left out; a
 * container stands for its subcommands, as Redis. */
static void latencyHistogramCommand(client *c) {
    histogramReply hr = {c, 0, NULL};
    void *len = addReplyDeferredLen(c);
    if (c->argc == 2) commandTableForEach(replyCommandHistogram, &hr);
    for (int j = 2; j < c->argc; j++) {
        sds name = c->argv[j];
        redisCommand *cmd = lookupCommandByName(name);
        if (!cmd) continue;
        if (cmd->subcommands) {
            hr.only = cmd->fullname;
            for (redisCommand *sub = cmd->subcommands; sub->name; sub++) replyCommandHistogram(sub, &hr);
            hr.only = NULL;
        } else {
            replyCommandHistogram(cmd, &hr);
        }
    }
    setDeferredMapLen(c, len, hr.n);
}

static void latencyHelpCommand(client *c) {
    static const char *help[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    };
    addReplyHelpLines(c, help);
}

static void latencyContainer(client *c) { (void)c; }

static redisCommand latencySubcommands[] = {
    {"doctor", latencyDoctorCommand, 2, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"graph", latencyGraphCommand, 3, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"help", latencyHelpCommand, 2, "loading stale", "slow", 0, 0, 0, NULL},
    {"histogram", latencyHistogramCommand, -2, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"history", latencyHistoryCommand, 3, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"latest", latencyLatestCommand, 2, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"reset", latencyResetCommand, -2, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {NULL}};

redisCommand latencyCommandTable[] = {
    {"latency", latencyContainer, -2, "", "slow", 0, 0, 0, latencySubcommands},
    {NULL}};
