/* sdnotify: readiness, stopping and watchdog messages to systemd (see sdnotify.h). */
#include "base/sdnotify.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"

static struct sockaddr_un g_addr;
static socklen_t g_addrlen;    /* 0: no $NOTIFY_SOCKET */
static double g_watchdog_s;    /* half of $WATCHDOG_USEC; 0: no watchdog */
static double g_watchdog_next; /* monotonic seconds; touched by sdnotify_watchdog only */

void sdnotify_init(void)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	size_t n = sock ? strlen(sock) : 0;
	long v;

	g_addrlen = 0;
	g_watchdog_s = 0;
	g_watchdog_next = 0;
	memset(&g_addr, 0, sizeof g_addr);
	g_addr.sun_family = AF_UNIX;
	/* a path, or '@' for the abstract namespace (a leading NUL, and no trailing one);
	 * anything else (vsock:, too long) is not for us */
	if (n >= 2 && n < sizeof g_addr.sun_path && (sock[0] == '/' || sock[0] == '@')) {
		memcpy(g_addr.sun_path, sock, n);
		if (sock[0] == '@')
			g_addr.sun_path[0] = '\0';
		g_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
					(sock[0] == '/' ? 1 : 0));
	} else if (sock && *sock) {
		log_warn(
			"event=notify_socket_unsupported msg=\"NOTIFY_SOCKET is neither a path nor "
			"@abstract: no readiness notification\"");
	}
	/* the watchdog is ours when WATCHDOG_PID is unset or names us */
	if (g_addrlen && usec && config_parse_long(usec, 1, LONG_MAX, &v) == TASKQ_OK) {
		long who = (long)getpid();
		if (!pid || (config_parse_long(pid, 1, LONG_MAX, &who) == TASKQ_OK &&
			     who == (long)getpid()))
			g_watchdog_s = (double)v / 2e6;
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int sdnotify(const char *msg)
{
	int fd, rc = 0;
	ssize_t n;

	if (!g_addrlen)
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	do
		n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&g_addr,
			   g_addrlen);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		log_warn("event=sd_notify_failed errno=%d", e);
		rc = -1;
		errno = e;
	}
	close(fd);
	return rc;
}

double sdnotify_watchdog(double wait_s)
{
	double now, left;

	if (g_watchdog_s <= 0)
		return wait_s;
	now = clock_mono_s();
	if (now >= g_watchdog_next) {
		sdnotify("WATCHDOG=1");
		g_watchdog_next = now + g_watchdog_s;
	}
	left = g_watchdog_next - now;
	return left < wait_s ? left : wait_s;
}
