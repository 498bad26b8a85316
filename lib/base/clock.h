/* clock: the monotonic clock in seconds, for timeouts, TTLs and rates (never wall time). */
#ifndef TASKQ_CLOCK_H
#define TASKQ_CLOCK_H

double clock_mono_s(void);

#endif
