/* t_hash.c - hash commands. A hash is a key directory with one file per field under fields/, holding the value. */
#include "server.h"

redisCommand hashCommandTable[] = {
    {NULL}};
