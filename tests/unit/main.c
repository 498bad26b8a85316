/* The unit test runner: pure code only, no database. */
#include <stdlib.h>

#include "units.h"

int main(void)
{
	SRunner *sr = srunner_create(suite_config());
	int failed;

	srunner_add_suite(sr, suite_router());
	srunner_add_suite(sr, suite_task());
	srunner_add_suite(sr, suite_taskjson());
	srunner_add_suite(sr, suite_queues());
	srunner_add_suite(sr, suite_netallow());
	srunner_add_suite(sr, suite_cmdout());
	srunner_add_suite(sr, suite_token());
	srunner_add_suite(sr, suite_log());
	srunner_add_suite(sr, suite_promtext());
	srunner_add_suite(sr, suite_cron());
	srunner_add_suite(sr, suite_tz());
	srunner_add_suite(sr, suite_breakers());
	srunner_add_suite(sr, suite_wstats());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
