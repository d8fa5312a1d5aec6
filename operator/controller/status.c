/* The status a reconcile builds (status.h). */
#include "operator/controller/status.h"

#include <json.h>

#include "operator/api/blocks.h"

void ctl_set_condition(struct ctl_next *nx, const char *type, const char *status,
		       const char *reason, const char *message)
{
	struct json_object *conds = ctl_get(nx->status, "conditions");
	if (!conds || !json_object_is_type(conds, json_type_array)) {
		conds = json_object_new_array();
		json_object_object_add(nx->status, "conditions", conds);
	}
	struct api_condition c = {
	    .type = type,
	    .status = status,
	    .reason = reason,
	    .message = message ? message : "",
	    .observed_generation = nx->generation,
	};
	(void)api_conditions_set(conds, &c, nx->now);
}

void ctl_set_state(struct ctl_next *nx, const char *phase, const char *ready, const char *reason,
		   const char *message)
{
	ctl_set_str(nx->status, "phase", phase);
	ctl_set_str(nx->status, "message", message);
	json_object_object_add(nx->status, "observedGeneration",
			       json_object_new_int64(nx->generation));
	ctl_set_condition(nx, CTL_COND_READY, ready, reason, message);
}

/* json-c writes NULL strings as null. */
void ctl_drop_nulls(struct json_object *o)
{
	if (!json_object_is_type(o, json_type_object))
		return;
	for (;;) {
		const char *gone = NULL;
		json_object_object_foreach(o, k, v)
		{
			if (!v) {
				gone = k;
				break;
			}
			ctl_drop_nulls(v);
		}
		if (!gone)
			return;
		json_object_object_del(o, gone);
	}
}

void ctl_finish(struct ctl_actions *out, struct ctl_next *nx, struct json_object *old_status,
		int warning, const char *reason, const char *message)
{
	const char *phase = ctl_get_str(nx->status, "phase");
	int changed = !old_status || !json_object_equal(old_status, nx->status);
	if (changed && !ctl_str_eq(phase, nx->old_phase))
		ctl_push_event(out, warning, reason, "%s: %s", phase, message ? message : "");
	else if (changed && warning && !ctl_str_eq(ctl_get_str(old_status, "message"), message))
		ctl_push_event(out, warning, reason, "%s", message ? message : "");
	if (changed) {
		struct ctl_action *x = ctl_push(out, CTL_ACTION_WRITE_STATUS);
		x->body = nx->status;
	} else {
		json_object_put(nx->status);
	}
	nx->status = NULL;
}

void ctl_next_init(struct ctl_next *nx, struct json_object *obj, time_t now)
{
	struct json_object *old = ctl_get(obj, "status");
	nx->status = NULL;
	if (old && json_object_is_type(old, json_type_object))
		json_object_deep_copy(old, &nx->status, NULL);
	if (!nx->status)
		nx->status = json_object_new_object();
	nx->old_phase = ctl_get_str(old, "phase");
	nx->generation = ctl_get_int(ctl_get(obj, "metadata"), "generation");
	nx->now = now;
}
