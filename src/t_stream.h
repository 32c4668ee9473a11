/* t_stream.h - what t_stream.c offers DUMP and RESTORE (dump.c), and
 * anything else that moves whole streams in Redis's RDB terms (rdb.h):
 * reading a stream key's entries, metadata and consumer groups in order,
 * and building a new stream key from them.
 *
 * Return convention of store.h: STORE_OK, or STORE_ERR with errno set
 * (EUCLEAN for a damaged key). */
#ifndef DREDIS_T_STREAM_H
#define DREDIS_T_STREAM_H
#include <stddef.h>
#include "store.h"
#include "rdb.h"

/* ---- reading (DUMP) ---- */

/* length, last ID, first live entry's ID, max deleted ID, entries added */
int streamReadMeta(skey *k, rdbStreamMeta *m);

/* fn for every entry of k in ID order (fv: 2 * nfields strings, field,
 * value, ...), one segment in memory at a time. Stops at the first result
 * of fn other than STORE_OK and returns it. */
typedef int streamEntryVisitor(void *ud, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen);
int streamVisitEntries(skey *k, streamEntryVisitor *fn, void *ud);

/* The consumer groups of k in name order, as an RDB lists them: each
 * count comes before the items it counts. Every pending entry of a group is
 * owned by one of its consumers (else the key is damaged: EUCLEAN). */
typedef struct streamGroupVisitor {
    void (*groups)(void *ud, size_t n);
    void (*group)(void *ud, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read,
                  size_t npending);
    void (*pending)(void *ud, const rdbStreamID *id, long long delivery_time, long long delivery_count);
    void (*consumers)(void *ud, size_t n);
    void (*consumer)(void *ud, const char *name, size_t len, long long seen_time, size_t npending);
    void (*owned)(void *ud, const rdbStreamID *id); /* a pending entry of the last consumer */
} streamGroupVisitor;
int streamVisitGroups(skey *k, const streamGroupVisitor *v, void *ud);

/* ---- building (RESTORE) ---- */

/* A new stream in k (a new staged key of type OBJ_STREAM), built in the
 * order rdbSink's stream callbacks come: entries in ascending ID order,
 * the metadata, then each group followed by its consumers, each followed
 * by the pending entries it owns. Entries go to segments written once
 * each, full. errno EINVAL: what was given breaks the stream's rules (an
 * ID not above the last, a length that disagrees); EEXIST: a group or a
 * consumer given twice. streamBuildEnd() writes the stream's own files
 * (save) and frees b; k is left for the caller to publish or delete. */
typedef struct streamBuild streamBuild;
streamBuild *streamBuildStart(skey *k);
int streamBuildAppend(streamBuild *b, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen);
int streamBuildMeta(streamBuild *b, const rdbStreamMeta *m);
int streamBuildGroup(streamBuild *b, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read);
int streamBuildConsumer(streamBuild *b, const char *name, size_t len, long long seen_time);
int streamBuildPending(streamBuild *b, const rdbStreamID *id, long long delivery_time, long long delivery_count);
int streamBuildEnd(streamBuild *b, int save);

#endif
