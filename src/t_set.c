/* t_set.c - set commands. A set is a key directory with one empty file per member under values/. */
#include "server.h"

redisCommand setCommandTable[] = {
    {NULL}};
