/* module.c - MODULE for a server that loads no modules, as Redis 7.0 with
 * its default enable-module-command no: LIST answers the (empty) list of
 * loaded modules, HELP Redis's help, and LOAD, LOADEX and UNLOAD are
 * refused before they run (moduleCommandRefused, called by commands.c
 * where Redis checks its protected commands). */
#include "server.h"

/* the container: commands.c runs a subcommand, never this */
static void moduleCommand(client *c) { (void)c; }

static void moduleListCommand(client *c) { addReplyArrayLen(c, 0); }

static void moduleHelpCommand(client *c) {
    static const char *help[] = {
        "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
        "HELP",
        "    Prints this help.",
    };
    addReplyHelpLines(c, help);
}

/* Redis's refusal of its protected MODULE subcommands under
 * enable-module-command no: every client, local or not */
static const char moduleNotAllowed[] =
    "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from "
    "a local connection, otherwise you need to set this option in the configuration file, and then restart the "
    "server.";

/* LOAD, LOADEX, UNLOAD: commands.c refuses them before they run */
static void moduleProtectedCommand(client *c) { addReplyError(c, moduleNotAllowed); }

/* the refusal of cmd (NULL when it is not a protected command) */
const char *moduleCommandRefused(const redisCommand *cmd) {
    return cmd->proc == moduleProtectedCommand ? moduleNotAllowed : NULL;
}

static redisCommand moduleSubcommands[] = {
    {"help", moduleHelpCommand, 2, "loading stale", "slow", 0, 0, 0, NULL},
    {"list", moduleListCommand, 2, "admin noscript", "admin slow dangerous", 0, 0, 0, NULL},
    {"load", moduleProtectedCommand, -3, "admin noscript no_async_loading", "admin slow dangerous", 0, 0, 0, NULL},
    {"loadex", moduleProtectedCommand, -3, "admin noscript no_async_loading", "admin slow dangerous", 0, 0, 0, NULL},
    {"unload", moduleProtectedCommand, 3, "admin noscript no_async_loading", "admin slow dangerous", 0, 0, 0, NULL},
    {NULL}};

redisCommand moduleCommandTable[] = {
    {"module", moduleCommand, -2, "", "slow", 0, 0, 0, moduleSubcommands},
    {NULL}};
