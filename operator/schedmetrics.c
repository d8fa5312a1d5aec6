/* The per-schedule alerting series (schedmetrics.h): observing runs,
 * computing the values, and publishing them to the registry. */
#include "operator/schedmetrics.h"

#include <string.h>
#include <time.h>

#include <json.h>

#include "common/jobresult.h"
#include "operator/controller/actions.h"
#include "operator/controller/backup.h"
#include "operator/metrics.h"

static int64_t time_of(struct json_object *o, const char *key)
{
	const char *text = ctl_get_str(o, key);
	time_t t;
	return text && jobresult_time_parse(&t, text) == 0 ? (int64_t)t : SCHEDMETRICS_NONE;
}

void schedmetrics_run_observe(struct schedmetrics_run *out, struct json_object *backup,
			      int64_t scheduled)
{
	struct json_object *meta = ctl_get(backup, "metadata");
	struct json_object *status = ctl_get(backup, "status");
	struct json_object *size = ctl_get(ctl_get(status, "artifact"), "size");
	*out = (struct schedmetrics_run){
	    .name = ctl_get_str(meta, "name"),
	    .phase = ctl_get_str(status, "phase"),
	    .scheduled = scheduled,
	    .completed = time_of(status, "completionTime"),
	    .size =
		size && json_object_is_type(size, json_type_int) && json_object_get_int64(size) >= 0
		    ? json_object_get_int64(size)
		    : SCHEDMETRICS_NONE,
	    .deleting = ctl_get_str(meta, "deletionTimestamp") != NULL,
	};
}

/* a newer than b: by run time, equal times by name (the larger first). */
static int newer(const struct schedmetrics_run *a, const struct schedmetrics_run *b)
{
	if (a->scheduled != b->scheduled)
		return a->scheduled > b->scheduled;
	return strcmp(a->name ? a->name : "", b->name ? b->name : "") > 0;
}

void schedmetrics_compute(struct schedmetrics *out, struct json_object *schedule, int64_t due,
			  int64_t next, const struct schedmetrics_run *runs, size_t n)
{
	struct json_object *spec = ctl_get(schedule, "spec");
	struct json_object *suspend = ctl_get(spec, "suspend");
	struct schedmetrics s = {
	    .interval = due != SCHEDMETRICS_NONE && next != SCHEDMETRICS_NONE && next > due
			    ? next - due
			    : SCHEDMETRICS_NONE,
	    .suspended = suspend && json_object_is_type(suspend, json_type_boolean) &&
			 json_object_get_boolean(suspend),
	    .created = time_of(ctl_get(schedule, "metadata"), "creationTimestamp"),
	    .last_success = SCHEDMETRICS_NONE,
	    .last_size = SCHEDMETRICS_NONE,
	    .previous_size = SCHEDMETRICS_NONE,
	};
	/* The two newest sized runs, in one pass. */
	const struct schedmetrics_run *first = NULL, *second = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct schedmetrics_run *r = &runs[i];
		if (r->deleting || !ctl_str_eq(r->phase, CTL_PHASE_COMPLETED))
			continue;
		int64_t done = r->completed != SCHEDMETRICS_NONE ? r->completed : r->scheduled;
		if (done > s.last_success)
			s.last_success = done;
		if (r->size == SCHEDMETRICS_NONE)
			continue;
		if (!first || newer(r, first)) {
			second = first;
			first = r;
		} else if (!second || newer(r, second)) {
			second = r;
		}
	}
	if (first)
		s.last_size = first->size;
	if (second)
		s.previous_size = second->size;
	*out = s;
}

static void put(struct metrics *m, size_t family, const char *const *lv, int64_t v)
{
	if (v == SCHEDMETRICS_NONE)
		(void)metrics_forget(m, family, lv);
	else
		(void)metrics_set(m, family, lv, (double)v);
}

void schedmetrics_publish(struct metrics *m, const char *ns, const char *schedule,
			  const struct schedmetrics *s)
{
	const char *lv[] = {ns, schedule};
	put(m, METRICS_SCHEDULE_INTERVAL, lv, s->interval);
	put(m, METRICS_SCHEDULE_SUSPENDED, lv, s->suspended);
	put(m, METRICS_SCHEDULE_CREATED, lv, s->created);
	put(m, METRICS_SCHEDULE_LAST_SUCCESS, lv, s->last_success);
	put(m, METRICS_SCHEDULE_LAST_SIZE, lv, s->last_size);
	put(m, METRICS_SCHEDULE_PREVIOUS_SIZE, lv, s->previous_size);
}

void schedmetrics_forget_all(struct metrics *m)
{
	static const size_t families[] = {
	    METRICS_SCHEDULE_INTERVAL,	METRICS_SCHEDULE_SUSPENDED,
	    METRICS_SCHEDULE_CREATED,	METRICS_SCHEDULE_LAST_SUCCESS,
	    METRICS_SCHEDULE_LAST_SIZE, METRICS_SCHEDULE_PREVIOUS_SIZE};
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		(void)metrics_forget_family(m, families[i]);
}
