/* signal: signal names and a submit's wait_for, checked (see signal.h). */
#include "model/signal.h"

#include <math.h>
#include <string.h>

bool signal_name_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= SIGNAL_NAME_MAX || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
					      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n >= 1;
}

enum taskq_rc signal_check_wait_for(json_object *v, struct taskq_err *err)
{
	bool have_signal = false;

	if (json_object_is_type(v, json_type_null))
		return TASKQ_OK;
	if (!json_object_is_type(v, json_type_object))
		return taskq_fail(err, TASKQ_INVAL,
				  "wait_for must be an object: {\"signal\", \"timeout_s\", "
				  "\"on_timeout\"}");
	json_object_object_foreach(v, key, val) {
		if (!strcmp(key, "signal")) {
			if (!json_object_is_type(val, json_type_string) ||
			    !signal_name_valid(json_object_get_string(val)))
				return taskq_fail(err, TASKQ_INVAL,
						  "wait_for.signal must be " SIGNAL_NAME_RULE);
			have_signal = true;
		} else if (!strcmp(key, "timeout_s")) {
			double d = json_object_get_double(val);
			if (json_object_is_type(val, json_type_null))
				continue;
			if ((!json_object_is_type(val, json_type_int) &&
			     !json_object_is_type(val, json_type_double)) ||
			    !isfinite(d) || d <= 0 || d > SIGNAL_WAIT_MAX_S)
				return taskq_fail(err, TASKQ_INVAL,
						  "wait_for.timeout_s must be a number of seconds "
						  "above 0, at most 31536000");
		} else if (!strcmp(key, "on_timeout")) {
			const char *s = json_object_get_string(val);
			if (!json_object_is_type(val, json_type_string) ||
			    (strcmp(s, "fail") && strcmp(s, "run")))
				return taskq_fail(
					err, TASKQ_INVAL,
					"wait_for.on_timeout must be \"fail\" or \"run\"");
		} else {
			return taskq_fail(err, TASKQ_INVAL,
					  "wait_for takes signal, timeout_s and on_timeout");
		}
	}
	if (!have_signal)
		return taskq_fail(err, TASKQ_INVAL, "wait_for.signal is required");
	return TASKQ_OK;
}
