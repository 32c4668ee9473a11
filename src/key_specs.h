/* key_specs.h - where a command's keys are in its arguments and how it uses
 * them (Redis 7.0's key specifications, src/key_specs.c is generated), and
 * the extraction of the keys from a command line (acl.c's key checks). */
#ifndef DREDIS_KEY_SPECS_H
#define DREDIS_KEY_SPECS_H

#define KS_RO (1 << 0)
#define KS_RW (1 << 1)
#define KS_OW (1 << 2)
#define KS_RM (1 << 3)
#define KS_ACCESS (1 << 4)
#define KS_UPDATE (1 << 5)
#define KS_INSERT (1 << 6)
#define KS_DELETE (1 << 7)
#define KS_NOT_KEY (1 << 8)
#define KS_INCOMPLETE (1 << 9)
#define KS_VARIABLE_FLAGS (1 << 10)

enum { KS_BS_UNKNOWN, KS_BS_INDEX, KS_BS_KEYWORD };
enum { KS_FK_UNKNOWN, KS_FK_RANGE, KS_FK_KEYNUM };

typedef struct keySpec {
    const char *name;
    int flags;
    int bs_type, bs_index;
    const char *bs_keyword;
    int bs_startfrom;
    int fk_type;
    int fk_a, fk_b, fk_c; /* range: lastkey keystep limit; keynum: keynumidx firstkey keystep */
} keySpec;

const keySpec *keySpecsOf(const char *fullname, int *n);
#endif
