/* units: the suites of the unit test program (check framework). */
#ifndef TASKQ_UNITS_H
#define TASKQ_UNITS_H

#include <check.h>

/* ck_assert_msg, but silent while cond holds: check records the place of every passing
 * assertion (a write to its pipe), too slow for loops of many thousand checks */
#define require(cond, ...)                               \
	do {                                             \
		if (!(cond))                             \
			ck_assert_msg(cond, __VA_ARGS__); \
	} while (0)

Suite *suite_config(void);
Suite *suite_router(void);
Suite *suite_task(void);
Suite *suite_taskjson(void);
Suite *suite_queues(void);
Suite *suite_netallow(void);
Suite *suite_cmdout(void);
Suite *suite_token(void);
Suite *suite_log(void);
Suite *suite_promtext(void);
Suite *suite_cron(void);
Suite *suite_tz(void);
Suite *suite_breakers(void);
Suite *suite_wstats(void);

#endif
