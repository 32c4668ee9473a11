/* t_zset.c - sorted set commands. */
#include "server.h"

redisCommand zsetCommandTable[] = {
    {NULL}};
