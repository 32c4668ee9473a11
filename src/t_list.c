/* t_list.c - list commands. */
#include "server.h"

redisCommand listCommandTable[] = {
    {NULL}};
