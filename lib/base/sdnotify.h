/*
 * sdnotify: systemd's notification protocol (sd_notify(3)) without libsystemd. A message is
 * one datagram of "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
 * or "@name" in the abstract namespace). Without $NOTIFY_SOCKET (not under systemd, or not
 * Type=notify) every call does nothing.
 */
#ifndef TASKQ_SDNOTIFY_H
#define TASKQ_SDNOTIFY_H

/* Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID and removes them from the
 * environment, so that programs the daemon starts do not inherit them. Call it once, before
 * any thread starts (it changes the environment). */
void sdnotify_init(void);

/* Sends msg ("READY=1", "STOPPING=1", "STATUS=…"; lines separated by '\n'). 0 when sent or
 * when there is nowhere to send it, -1 (errno set) when sending failed. Thread-safe. */
int sdnotify(const char *msg);

/* The watchdog: sends "WATCHDOG=1" when half of $WATCHDOG_USEC has passed since the last one,
 * and returns wait_s, or less: the seconds until the next one is due. A loop that proves the
 * daemon alive calls it each round and sleeps at most what it returns. Without a watchdog it
 * returns wait_s unchanged. Call it from one thread only. */
double sdnotify_watchdog(double wait_s);

#endif
