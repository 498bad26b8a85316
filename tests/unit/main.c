/* The unit test runner: pure code only, no database. Owns the list of suites; the tests
 * live in t_*.c, their shared helpers in units.c. */
#include <stdlib.h>

#include "units.h"

int main(void)
{
	Suite *(*const suites[])(void) = {
		suite_config,   suite_router,     suite_task,     suite_taskjson, suite_queues,
		suite_netallow, suite_cmdout,     suite_token,    suite_log,      suite_promtext,
		suite_cron,     suite_cron_props, suite_tz,       suite_tz_zones, suite_breakers,
		suite_wstats,   suite_jsondup,    suite_httpwait, suite_change,   suite_httpstream,
	};
	SRunner *sr = srunner_create(NULL);
	int failed;

	for (size_t i = 0; i < N_OF(suites); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
