/* units: the suites of the unit test program (check framework). */
#ifndef TASKQ_UNITS_H
#define TASKQ_UNITS_H

#include <check.h>

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
Suite *suite_breakers(void);

#endif
