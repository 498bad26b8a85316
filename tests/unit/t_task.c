/* Unit tests: task ids, names and states. */
#include "model/task.h"
#include "units.h"

START_TEST(ids)
{
	static const struct valid_case cases[] = {
		{"0193a6b2-7c1e-7d3f-8a9b-0123456789ab", true},
		{"0193A6B2-7C1E-7D3F-8A9B-0123456789AB", true},
		{"0193a6b2-7c1e-7d3f-8a9b-0123456789a", false},
		{"0193a6b2-7c1e-7d3f-8a9b-0123456789abc", false},
		{"0193a6b2x7c1e-7d3f-8a9b-0123456789ab", false},
		{"g193a6b2-7c1e-7d3f-8a9b-0123456789ab", false},
		{"'; DROP TABLE taskq.tasks; --", false},
		{"", false},
		{NULL, false},
	};
	CHECK_VALID(task_id_valid, cases);
}
END_TEST

START_TEST(names)
{
	static const struct valid_case cases[] = {
		{"default", true},
		{"reports.v2:eu-1_a", true},
		{"", false},
		{"with space", false},
		{"semi;colon", false},
		{"0123456789012345678901234567890123456789012345678901234567890123456789", false},
		{"0123456789012345678901234567890123456789012345678901234567890123", true},
	};
	CHECK_VALID(task_name_valid, cases);
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

UNITS_SUITE(task, 0, ids, names, states)
