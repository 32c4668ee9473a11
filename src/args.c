/* args.c - parsing command arguments into numbers, replying with Redis's
 * error text when an argument does not parse. */
#include "server.h"
#include <math.h>

int getLongLongFromArgOrReply(client *c, sds arg, long long *out, const char *msg) {
    if (!string2ll(arg, sdslen(arg), out)) {
        addReplyError(c, msg ? msg : "ERR value is not an integer or out of range");
        return C_ERR;
    }
    return C_OK;
}

int getLongFromArgOrReply(client *c, sds arg, long *out, const char *msg) {
    if (!string2l(arg, sdslen(arg), out)) {
        addReplyError(c, msg ? msg : "ERR value is not an integer or out of range");
        return C_ERR;
    }
    return C_OK;
}

int getPositiveLongFromArgOrReply(client *c, sds arg, long *out, const char *msg) {
    if (!string2l(arg, sdslen(arg), out) || *out < 0) {
        addReplyError(c, msg ? msg : "ERR value is out of range, must be positive");
        return C_ERR;
    }
    return C_OK;
}

int getDoubleFromArgOrReply(client *c, sds arg, double *out, const char *msg) {
    if (!string2d(arg, sdslen(arg), out)) {
        addReplyError(c, msg ? msg : "ERR value is not a valid float");
        return C_ERR;
    }
    return C_OK;
}

int getLongDoubleFromArgOrReply(client *c, sds arg, long double *out, const char *msg) {
    if (!string2ld(arg, sdslen(arg), out)) {
        addReplyError(c, msg ? msg : "ERR value is not a valid float");
        return C_ERR;
    }
    return C_OK;
}
