/* notify_systemd.c - systemd's readiness protocol (sd_notify(3)), without
 * libsystemd: when the service manager set NOTIFY_SOCKET (Type=notify
 * units), one datagram "READY=1" once the journal is recovered and the
 * ports are open, "STOPPING=1" when shutting down. A path starting with
 * '@' names an abstract socket. Nothing happens without NOTIFY_SOCKET. */
#include "server.h"
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static void systemdNotify(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return;
    struct sockaddr_un sa;
    size_t len = strlen(path);
    if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
        serverLog(LL_WARNING, "NOTIFY_SOCKET '%s' is not a socket path: systemd not told '%s'", path, state);
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
                         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        serverLog(LL_WARNING, "cannot tell systemd '%s' through NOTIFY_SOCKET: %s", state, strerror(errno));
    if (fd >= 0) close(fd);
}

void systemdNotifyReady(void) { systemdNotify("READY=1\nSTATUS=Ready to accept connections"); }

void systemdNotifyStopping(void) { systemdNotify("STOPPING=1"); }
