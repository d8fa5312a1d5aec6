/* Tests for operator/controller/schedule.c: the BackupSchedule reconcile,
 * observation by observation. The run times are given (the cron module's
 * job); here: what is created, skipped, missed, pruned and written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/jobresult.h"
#include "operator/api/schedule.h"
#include "operator/api/blocks.h"
#include "operator/controller/schedule.h"
#include "operator/jobspec.h"
#include "tests/unit/api_testlib.h"
#include "tests/unit/ctl_testlib.h"

#define H 3600
#define D 86400
#define NOW 1796126400	       /* 2026-12-01T12:00:00Z */
#define DUE (NOW - 10 * H)     /* 2026-12-01T02:00:00Z */
#define NEXT (NOW + 14 * H)    /* 2026-12-02T02:00:00Z */
#define CREATED (NOW - 20 * H) /* the schedule's creation */

static const char base[] =
    "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"BackupSchedule\","
    "\"metadata\":{\"name\":\"nightly\",\"namespace\":\"app\",\"uid\":\"u-2\",\"generation\":1},"
    "\"spec\":{\"schedule\":\"0 2 * * *\",\"timeZone\":\"Europe/Stockholm\","
    "\"backupTemplate\":{\"metadata\":{\"labels\":{\"team\":\"db\"},\"annotations\":{\"note\":"
    "\"x\"}},"
    "\"spec\":{\"database\":{\"host\":\"db\",\"user\":\"app\",\"database\":\"app\"},"
    "\"storage\":{\"volume\":{\"claimName\":\"backups\"}},"
    "\"deletionPolicy\":\"Delete\"}}}}";

struct bk {
	const char *name, *phase;
	int64_t ago; /* run time, seconds before NOW */
	int referenced;
	const char *reason; /* its Ready reason */
};

struct row {
	const char *name;
	const char *edits[4]; /* path=json on the schedule */
	int64_t due, since, missed;
	const char *spec_error;
	struct bk backups[8];
	const char *actions; /* kinds, events as Event:W:Reason */
	const char *status_checks[4];
};

struct run {
	struct json_object *obj;
	struct api_schedule *s;
	struct ctl_sched_backup b[8];
	struct ctl_schedule_input in;
	struct ctl_actions acts;
};

static void run_row(struct run *r, const struct row *row)
{
	memset(r, 0, sizeof(*r));
	r->obj = tl_json(base);
	for (size_t i = 0; i < 4 && row->edits[i]; i++)
		tl_apply_edit(r->obj, row->edits[i]);
	if (api_schedule_parse(&r->s, r->obj) != 0)
		fail_msg("%s: the schedule does not parse: %s", row->name, err_msg());
	size_t n = 0;
	for (; n < 8 && row->backups[n].name; n++)
		r->b[n] =
		    (struct ctl_sched_backup){row->backups[n].name,	  row->backups[n].phase,
					      NOW - row->backups[n].ago,  3600,
					      row->backups[n].referenced, 0,
					      row->backups[n].reason,	  NULL};
	r->in = (struct ctl_schedule_input){
	    .obj = r->obj,
	    .schedule = r->s,
	    .spec_error = row->spec_error,
	    .now = NOW,
	    .due = row->due ? row->due : DUE,
	    .next = NEXT,
	    .since = row->since ? row->since : CREATED,
	    .missed = row->missed,
	    .backups = r->b,
	    .nbackups = n,
	};
	assert_int_equal(ctl_schedule_reconcile(&r->acts, &r->in), 0);
}

static void run_dispose(struct run *r)
{
	ctl_actions_dispose(&r->acts);
	api_schedule_free(r->s);
	json_object_put(r->obj);
}

static const struct row rows[] = {
    {.name = "the first run: its backup created, status written, a requeue at the next",
     .actions = "CreateBackup,Event:N:RunStarted,WriteStatus,RequeueAfter",
     .status_checks = {"lastScheduleTime=\"2026-12-01T02:00:00Z\"",
		       "active.0.name=\"nightly-202612010200\"",
		       "nextScheduleTime=\"2026-12-02T02:00:00Z\"",
		       "conditions.0.reason=\"Scheduled\""}},
    {.name = "nothing due (the run already made): status only",
     .since = DUE,
     .backups = {{"nightly-202612010200", "Running", 10 * H, 0}},
     .actions = "WriteStatus,RequeueAfter",
     .status_checks = {"lastBackup.name=\"nightly-202612010200\"", "lastBackup.phase=\"Running\""}},
    {.name = "after downtime, no deadline: the latest runs, the others counted",
     .missed = 3,
     .actions = "Event:W:MissedRuns,CreateBackup,Event:N:RunStarted,WriteStatus,RequeueAfter",
     .status_checks = {"missedCount=3"}},
    {.name = "after downtime beyond startingDeadlineSeconds: none runs, all counted",
     .edits = {"spec.startingDeadlineSeconds=300"},
     .missed = 3,
     .actions = "Event:W:MissedRuns,WriteStatus,RequeueAfter",
     .status_checks = {"missedCount=4", "lastScheduleTime=\"2026-12-01T02:00:00Z\""}},
    {.name = "within startingDeadlineSeconds: it runs",
     .edits = {"spec.startingDeadlineSeconds=86400"},
     .actions = "CreateBackup,Event:N:RunStarted,WriteStatus,RequeueAfter"},
    {.name = "Forbid (the default) with a backup still active: skipped and counted",
     .backups = {{"nightly-202611300200", "Running", 34 * H, 0}},
     .actions = "Event:W:RunSkipped,WriteStatus,RequeueAfter",
     .status_checks = {"missedCount=1", "active.0.name=\"nightly-202611300200\""}},
    {.name = "Forbid and the active backup is this very run (made before a restart): no skip",
     .backups = {{"nightly-202612010200", "Pending", 10 * H, 0}},
     .actions = "WriteStatus,RequeueAfter",
     .status_checks = {"lastScheduleTime=\"2026-12-01T02:00:00Z\""}},
    {.name = "Replace: the active one deleted, the run started",
     .edits = {"spec.concurrencyPolicy=\"Replace\""},
     .backups = {{"nightly-202611300200", "Running", 34 * H, 0}},
     .actions = "DeleteBackup,Event:N:Replaced,CreateBackup,Event:N:RunStarted,WriteStatus,"
		"RequeueAfter",
     .status_checks = {"active.0.name=\"nightly-202612010200\""}},
    {.name = "Allow: the run beside the active one",
     .edits = {"spec.concurrencyPolicy=\"Allow\""},
     .backups = {{"nightly-202611300200", "Running", 34 * H, 0}},
     .actions = "CreateBackup,Event:N:RunStarted,WriteStatus,RequeueAfter",
     .status_checks = {"active.1.name=\"nightly-202612010200\""}},
    {.name = "suspended: no run, the due time passes (not replayed), no next; a requeue "
	     "at the next time records its passing",
     .edits = {"spec.suspend=true"},
     .actions = "WriteStatus,RequeueAfter",
     .status_checks = {"lastScheduleTime=\"2026-12-01T02:00:00Z\"",
		       "conditions.0.reason=\"Suspended\""}},
    {.name = "just resumed (status says Suspended): the time that came meanwhile passes",
     .edits = {"status={\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
	       "\"reason\":\"Suspended\",\"message\":\"\",\"lastTransitionTime\":"
	       "\"2026-11-30T00:00:00Z\"}]}"},
     .actions = "WriteStatus,RequeueAfter",
     .status_checks = {"lastScheduleTime=\"2026-12-01T02:00:00Z\"",
		       "conditions.0.reason=\"Scheduled\""}},
    {.name = "retention keepLast 2: the older good ones pruned in one event, the failed kept",
     .edits = {"spec.retention={\"keepLast\":2}"},
     .since = DUE,
     .backups = {{"nightly-202611260200", "Completed", 5 * D, 0},
		 {"nightly-202611270200", "Completed", 4 * D, 0},
		 {"nightly-202611280200", "Failed", 3 * D, 0},
		 {"nightly-202611290200", "Completed", 2 * D, 0},
		 {"nightly-202611300200", "Completed", 1 * D, 0}},
     .actions = "DeleteBackup,DeleteBackup,Event:N:Pruned,WriteStatus,RequeueAfter",
     .status_checks = {"successCount=4", "failureCount=1",
		       "lastSuccessfulTime=\"2026-11-30T12:00:00Z\""}},
    {.name = "LastBackupSucceeded: the newest finished run Completed (an older one Failed, a newer "
	     "one Running)",
     .since = DUE,
     .backups = {{"nightly-202611280200", "Failed", 3 * D, 0, "BackupFailed"},
		 {"nightly-202611290200", "Completed", 2 * D, 0},
		 {"nightly-202611300200", "Running", 1 * D, 0}},
     .actions = "WriteStatus,RequeueAfter",
     .status_checks = {"conditions.1.type=\"LastBackupSucceeded\"", "conditions.1.status=\"True\"",
		       "conditions.1.reason=\"Succeeded\"",
		       "conditions.1.message=\"backup nightly-202611290200 completed\""}},
    {.name = "LastBackupSucceeded: the newest finished run Failed, with its reason",
     .since = DUE,
     .backups = {{"nightly-202611290200", "Completed", 2 * D, 0},
		 {"nightly-202611300200", "Failed", 1 * D, 0, "DeadlineExceeded"}},
     .actions = "WriteStatus,RequeueAfter",
     .status_checks = {"conditions.1.status=\"False\"", "conditions.1.reason=\"DeadlineExceeded\"",
		       "conditions.1.message=\"backup nightly-202611300200 failed\"",
		       "conditions.0.type=\"Ready\""}},
    {.name = "LastBackupSucceeded: a Failed run without a reason says Failed",
     .since = DUE,
     .backups = {{"nightly-202611300200", "Failed", 1 * D, 0}},
     .actions = "WriteStatus,RequeueAfter",
     .status_checks = {"conditions.1.status=\"False\"", "conditions.1.reason=\"Failed\""}},
    {.name = "LastBackupSucceeded: absent while no run has finished",
     .since = DUE,
     .backups = {{"nightly-202611300200", "Running", 1 * D, 0}},
     .actions = "WriteStatus,RequeueAfter",
     .status_checks = {"conditions.0.type=\"Ready\"", "conditions.1=null"}},
    {.name = "retention never prunes a backup a restore refers to",
     .edits = {"spec.retention={\"keepLast\":1}"},
     .since = DUE,
     .backups = {{"nightly-202611290200", "Completed", 2 * D, 1},
		 {"nightly-202611300200", "Completed", 1 * D, 0}},
     .actions = "WriteStatus,RequeueAfter"},
};

static void check_row(const struct row *row)
{
	struct run r;
	run_row(&r, row);
	char *d = tl_describe(&r.acts);
	if (strcmp(d, row->actions) != 0)
		fail_msg("%s: actions %s, want %s", row->name, d, row->actions);
	const struct ctl_action *w = ctl_actions_find(&r.acts, CTL_ACTION_WRITE_STATUS);
	for (size_t i = 0; i < 4 && row->status_checks[i]; i++) {
		const char *c = row->status_checks[i], *eq = strchr(c, '=');
		char *path = strndup(c, (size_t)(eq - c));
		struct json_object *want = tl_json(eq + 1),
				   *got = w ? tl_lookup(w->body, path) : NULL;
		if (!json_object_equal(want, got))
			fail_msg("%s: status.%s is %s, want %s", row->name, path,
				 got ? json_object_to_json_string(got) : "(absent)", eq + 1);
		json_object_put(want);
		free(path);
	}
	/* The same observation with the written status and the backups it
	 * made: only the requeue is left (no second run, no repeated event). */
	if (w) {
		json_object_object_add(r.obj, "status", json_object_get(w->body));
		struct ctl_sched_backup b[9];
		size_t n = r.in.nbackups;
		memcpy(b, r.b, n * sizeof(*b));
		const struct ctl_action *c = ctl_actions_find(&r.acts, CTL_ACTION_CREATE_BACKUP);
		if (c)
			b[n++] = (struct ctl_sched_backup){c->name, NULL, r.in.due, 3600,
							   0,	    0,	  NULL,	    NULL};
		for (size_t i = 0; i < r.acts.n; i++)
			if (r.acts.v[i].kind == CTL_ACTION_DELETE_BACKUP)
				for (size_t k = 0; k < n; k++)
					if (strcmp(b[k].name, r.acts.v[i].name) == 0)
						b[k].deleting = 1;
		struct ctl_schedule_input again = r.in;
		time_t since = 0;
		const char *lst = json_object_get_string(tl_lookup(w->body, "lastScheduleTime"));
		if (lst && jobresult_time_parse(&since, lst) == 0)
			again.since = since;
		again.missed = 0;
		again.backups = b;
		again.nbackups = n;
		struct ctl_actions acts2 = {0};
		assert_int_equal(ctl_schedule_reconcile(&acts2, &again), 0);
		char *d2 = tl_describe(&acts2);
		if (strcmp(d2, "RequeueAfter") != 0)
			fail_msg("%s: the second reconcile is not idle: %s", row->name, d2);
		free(d2);
		ctl_actions_dispose(&acts2);
	}
	free(d);
	run_dispose(&r);
}

static void ctl_schedule_reconcile__each_case(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		printf("  %s\n", rows[i].name);
		check_row(&rows[i]);
	}
}

static void ctl_schedule_reconcile__the_runs_backup(void **state)
{
	(void)state;
	struct run r;
	static const struct row row = {.name = "first"};
	run_row(&r, &row);
	const struct ctl_action *c = ctl_actions_find(&r.acts, CTL_ACTION_CREATE_BACKUP);
	assert_non_null(c);
	struct json_object *b = c->body;
	assert_string_equal(json_object_get_string(tl_lookup(b, "kind")), "DatabaseBackup");
	assert_string_equal(json_object_get_string(tl_lookup(b, "metadata.name")),
			    "nightly-202612010200");
	assert_string_equal(json_object_get_string(tl_lookup(b, "metadata.namespace")), "app");
	struct json_object *labels = tl_lookup(b, "metadata.labels");
	assert_string_equal(json_object_get_string(tl_lookup(labels, "team")), "db");
	struct json_object *sl = NULL;
	assert_true(json_object_object_get_ex(labels, "lifeboat.dev/schedule", &sl));
	assert_string_equal(json_object_get_string(sl), "nightly");
	struct json_object *ann = tl_lookup(b, "metadata.annotations"), *at = NULL;
	assert_true(json_object_object_get_ex(ann, CTL_SCHEDULED_TIME_ANNOTATION, &at));
	assert_string_equal(json_object_get_string(at), "2026-12-01T02:00:00Z");
	assert_string_equal(json_object_get_string(tl_lookup(ann, "note")), "x");
	assert_string_equal(json_object_get_string(tl_lookup(b, "metadata.ownerReferences.0.kind")),
			    "BackupSchedule");
	assert_string_equal(json_object_get_string(tl_lookup(b, "metadata.ownerReferences.0.uid")),
			    "u-2");
	assert_true(json_object_get_boolean(tl_lookup(b, "metadata.ownerReferences.0.controller")));
	assert_string_equal(json_object_get_string(tl_lookup(b, "spec.deletionPolicy")), "Delete");
	assert_string_equal(json_object_get_string(tl_lookup(b, "spec.storage.volume.claimName")),
			    "backups");
	const struct ctl_action *q = ctl_actions_find(&r.acts, CTL_ACTION_REQUEUE_AFTER);
	assert_non_null(q);
	assert_int_equal(q->delay_ms, CTL_SCHEDULE_MAX_WAIT_MS); /* 14 h away: capped */
	run_dispose(&r);
}

static void ctl_schedule_reconcile__invalid_spec(void **state)
{
	(void)state;
	struct run r;
	static const struct row row = {
	    .name = "invalid",
	    .spec_error = "spec.schedule: field 3 (day of month): 32 is out of range 1-31"};
	run_row(&r, &row);
	char *d = tl_describe(&r.acts);
	assert_string_equal(d, "Event:W:InvalidSpec,WriteStatus");
	const struct ctl_action *w = ctl_actions_find(&r.acts, CTL_ACTION_WRITE_STATUS);
	assert_string_equal(json_object_get_string(tl_lookup(w->body, "conditions.0.reason")),
			    "InvalidSpec");
	assert_non_null(strstr(json_object_get_string(tl_lookup(w->body, "message")), "field 3"));
	free(d);
	run_dispose(&r);
}

static void ctl_schedule_run_name__is_the_utc_minute(void **state)
{
	(void)state;
	char *n = ctl_schedule_run_name("nightly", 1796126400 + 59);
	assert_string_equal(n, "nightly-202612011200");
	free(n);
	n = ctl_schedule_run_name("s", 0);
	assert_string_equal(n, "s-197001010000");
	free(n);
}

/* A schedule name of n characters: "s", then 'a'..'z' over and over,
 * with the last character set to last. */
static char *long_name(size_t n, char last)
{
	char *s = calloc(1, n + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = i == 0 ? 's' : (char)('a' + i % 26);
	s[n - 1] = last;
	return s;
}

static void ctl_schedule_run_name__long_names_shortened_with_a_hash(void **state)
{
	(void)state;
	/* 240 characters fit whole: 240 + "-yyyymmddhhmm" = 253 */
	char *whole = long_name(CTL_SCHEDULE_NAME_MAX, 'z');
	char *n = ctl_schedule_run_name(whole, 0);
	assert_int_equal(strlen(n), 253);
	assert_memory_equal(n, whole, CTL_SCHEDULE_NAME_MAX);
	assert_string_equal(n + CTL_SCHEDULE_NAME_MAX, "-197001010000");
	free(n);
	free(whole);

	/* 253 (the longest name there is) and 241: shortened, valid, stable,
	 * and two names differing only at the end give different runs */
	const size_t lens[] = {CTL_SCHEDULE_NAME_MAX + 1, 253};
	for (size_t i = 0; i < 2; i++) {
		char *a = long_name(lens[i], 'x'), *b = long_name(lens[i], 'y');
		char *na = ctl_schedule_run_name(a, 1796126400),
		     *na2 = ctl_schedule_run_name(a, 1796126400);
		char *nb = ctl_schedule_run_name(b, 1796126400);
		assert_true(strlen(na) <= 253);
		assert_true(api_valid_dns_subdomain(na, 253));
		assert_string_equal(na, na2);
		assert_string_not_equal(na, nb);
		assert_memory_equal(na, a, 200); /* the start is kept */
		assert_string_equal(na + strlen(na) - 13, "-202612011200");
		/* the Job and its pods' names come from the run's name */
		char *job = jobspec_job_name(na, "backup");
		assert_true(strlen(job) <= JOBSPEC_NAME_MAX);
		free(job);
		/* the label: 63 at most, a valid label value, stable, distinct */
		char *la = ctl_schedule_label(a), *lb = ctl_schedule_label(b);
		char *la2 = ctl_schedule_label(a);
		assert_true(strlen(la) <= 63);
		assert_true(api_valid_label_value(la));
		assert_string_equal(la, la2);
		assert_string_not_equal(la, lb);
		free(la);
		free(la2);
		free(lb);
		free(na);
		free(na2);
		free(nb);
		free(a);
		free(b);
	}
	char *l = ctl_schedule_label("nightly");
	assert_string_equal(l, "nightly");
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ctl_schedule_reconcile__each_case),
	    cmocka_unit_test(ctl_schedule_reconcile__the_runs_backup),
	    cmocka_unit_test(ctl_schedule_reconcile__invalid_spec),
	    cmocka_unit_test(ctl_schedule_run_name__is_the_utc_minute),
	    cmocka_unit_test(ctl_schedule_run_name__long_names_shortened_with_a_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
