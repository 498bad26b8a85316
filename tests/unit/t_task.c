/* Unit tests: task ids, names and states. */
#include "model/task.h"
#include "units.h"

START_TEST(ids)
{
	ck_assert(task_id_valid("0193a6b2-7c1e-7d3f-8a9b-0123456789ab"));
	ck_assert(task_id_valid("0193A6B2-7C1E-7D3F-8A9B-0123456789AB"));
	ck_assert(!task_id_valid("0193a6b2-7c1e-7d3f-8a9b-0123456789a"));
	ck_assert(!task_id_valid("0193a6b2-7c1e-7d3f-8a9b-0123456789abc"));
	ck_assert(!task_id_valid("0193a6b2x7c1e-7d3f-8a9b-0123456789ab"));
	ck_assert(!task_id_valid("g193a6b2-7c1e-7d3f-8a9b-0123456789ab"));
	ck_assert(!task_id_valid("'; DROP TABLE taskq.tasks; --"));
	ck_assert(!task_id_valid(""));
	ck_assert(!task_id_valid(NULL));
}
END_TEST

START_TEST(names)
{
	ck_assert(task_name_valid("default"));
	ck_assert(task_name_valid("reports.v2:eu-1_a"));
	ck_assert(!task_name_valid(""));
	ck_assert(!task_name_valid("with space"));
	ck_assert(!task_name_valid("semi;colon"));
	ck_assert(!task_name_valid("0123456789012345678901234567890123456789012345678901234567890123456789"));
	ck_assert(task_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
}
END_TEST

START_TEST(states)
{
	for (int s = TASK_QUEUED; s <= TASK_CANCELLED; s++)
		ck_assert_int_eq(task_state_parse(task_state_name((enum task_state)s)), s);
	ck_assert_int_eq(task_state_parse("done"), -1);
	ck_assert(!task_state_final(TASK_QUEUED));
	ck_assert(!task_state_final(TASK_RUNNING));
	ck_assert(task_state_final(TASK_SUCCEEDED));
	ck_assert(task_state_final(TASK_FAILED));
	ck_assert(task_state_final(TASK_CANCELLED));
}
END_TEST

Suite *suite_task(void)
{
	Suite *s = suite_create("task");
	TCase *tc = tcase_create("task");
	tcase_add_test(tc, ids);
	tcase_add_test(tc, names);
	tcase_add_test(tc, states);
	suite_add_tcase(s, tc);
	return s;
}
