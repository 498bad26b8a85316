/*
 * wallclock: a civil (wall-clock) date and time with no zone attached, the value cron.c walks
 * and tz.c maps to and from instants. Its own header so that neither of those two includes
 * the other's; no functions, nothing else.
 */
#ifndef TASKQ_WALLCLOCK_H
#define TASKQ_WALLCLOCK_H

/* A civil (wall-clock) date and time, no zone attached. */
struct cron_time {
	int year;
	int mon;  /* 1-12 */
	int mday; /* 1-31 */
	int hour, min, sec;
	int wday; /* 0-6, Sunday = 0; filled in by tz_to_local(), ignored on input */
};

#endif
