/* The DatabaseRestore reconcile: one table row per transition, the observed
 * restore, backup, safety backup, Job and pod in, actions and the written
 * status out; every row's written status reconciled again is idle. */
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
#include "operator/api/backup.h"
#include "operator/api/blocks.h"
#include "operator/api/restore.h"
#include "operator/controller/restore.h"
#include "operator/jobspec.h"
#include "tests/unit/api_testlib.h"
#include "tests/unit/ctl_testlib.h"

#define NOW 1796126400 /* 2026-12-01T12:00:00Z */
#define SHA "3b22a8e1c0f4d5b6a798011223344556677889aabbccddeeff00112233445566"
#define SHA2 "aa22a8e1c0f4d5b6a798011223344556677889aabbccddeeff00112233445566"

static const char restore_obj[] =
    "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseRestore\","
    "\"metadata\":{\"name\":\"r1\",\"namespace\":\"app\",\"uid\":\"u-r\",\"generation\":1,"
    "\"resourceVersion\":\"20\","
    "\"annotations\":{\"lifeboat.dev/requested-by\":\"alice (groups: dba)\"}},"
    "\"spec\":{\"backupRef\":{\"name\":\"b1\"},\"confirm\":\"app\"}}";

static const char backup_obj[] =
    "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseBackup\","
    "\"metadata\":{\"name\":\"b1\",\"namespace\":\"app\",\"uid\":\"u-1\",\"generation\":1},"
    "\"spec\":{\"database\":{\"host\":\"db.app.svc\",\"user\":\"app\","
    "\"passwordSecretRef\":{\"name\":\"app-db\",\"key\":\"password\"},\"database\":\"app\","
    "\"schemaVersionQuery\":\"SELECT max(v) FROM migrations\"},"
    "\"storage\":{\"volume\":{\"claimName\":\"db-backups\"}},"
    "\"encryption\":{\"passphraseSecretRef\":{\"name\":\"pp\",\"key\":\"passphrase\"}}},"
    "\"status\":{\"phase\":\"Completed\",\"artifact\":{\"location\":"
    "\"file:///backup-volume/app/b1/\",\"sha256\":\"" SHA "\",\"createdAt\":"
    "\"2026-12-01T02:00:00Z\"},\"database\":{\"schemaVersion\":\"42\"}}}";

static const char result_ok[] =
    "{\"command\":\"restore\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
    "\"completionTime\":\"2026-12-01T11:59:00Z\","
    "\"restoredBackup\":{\"namespace\":\"app\",\"name\":\"b1\",\"location\":"
    "\"file:///backup-volume/app/b1/\",\"sha256\":\"" SHA "\",\"createdAt\":"
    "\"2026-12-01T02:00:00Z\",\"schemaVersion\":\"42\"},"
    "\"schemaCheck\":{\"policy\":\"Warn\",\"result\":\"Match\",\"backupVersion\":\"42\","
    "\"targetVersion\":\"42\"},"
    "\"auditRecord\":\"file:///backup-volume/app/_restores/2026/12/r1.json\"}";
static const char result_integrity[] =
    "{\"command\":\"restore\",\"phase\":\"Failed\",\"reason\":\"IntegrityCheckFailed\","
    "\"message\":\"db.dump.zst.pgp: SHA-256 mismatch\",\"targetUnchanged\":true,"
    "\"auditRecord\":\"file:///backup-volume/app/_restores/2026/12/r1.json\"}";
static const char result_schema[] =
    "{\"command\":\"restore\",\"phase\":\"Failed\",\"reason\":\"SchemaMismatch\","
    "\"message\":\"schema version 41 of the target differs from the backup's 42\","
    "\"targetUnchanged\":true,\"schemaCheck\":{\"policy\":\"RequireMatch\",\"result\":"
    "\"Mismatch\",\"backupVersion\":\"42\",\"targetVersion\":\"41\"}}";
static const char result_unknown[] =
    "{\"command\":\"restore\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
    "\"schemaCheck\":{\"policy\":\"Warn\",\"result\":\"TargetUnknown\",\"backupVersion\":"
    "\"42\",\"targetError\":\"relation migrations does not exist\"}}";

#define S_SAFETY                                                                                   \
	"status={\"phase\":\"SafetyBackup\",\"observedGeneration\":1,\"requestedBy\":\"alice "     \
	"(groups: dba)\",\"startTime\":\"2026-12-01T11:00:00Z\",\"safetyBackup\":{\"enabled\":"    \
	"true,\"name\":\"r1-safety\"}}"
#define S_RESTORING                                                                                \
	"status={\"phase\":\"Restoring\",\"observedGeneration\":1,\"jobName\":\"r1-restore\","     \
	"\"requestedBy\":\"alice (groups: dba)\",\"startTime\":\"2026-12-01T11:00:00Z\","          \
	"\"restoredBackup\":{\"name\":\"b1\"},\"target\":\"postgresql://app@db.app.svc:5432/"      \
	"app\","                                                                                   \
	"\"safetyBackup\":{\"enabled\":true,\"name\":\"r1-safety\",\"sha256\":\"" SHA2 "\"}}"

struct row {
	const char *name;
	const char *edits[6]; /* on the restore: "path=json", "path" alone deletes */
	const char *backup;   /* NULL: not found; "completed", "running", "failed" */
	const char *safety;   /* NULL none; "running", "completed", "failed" */
	const char *job;      /* NULL none; "active", "complete", "failed" */
	const char *pod;      /* NULL none; "run", "ok", "fail", "oom", "stuck" */
	const char *result;   /* the restore container's termination message */
	const char *actions;  /* expected, events as Event:W:Reason */
	const char *phase;    /* written status.phase; NULL: no write */
	const char *ready;    /* its Ready reason */
	const char *message_has;
	const char *checks[3]; /* "path=json" that hold in the written status */
};

static struct json_object *backup_json(const char *kind, const char *name)
{
	if (!kind)
		return NULL;
	struct json_object *b = tl_json(backup_obj);
	tl_set(b, "metadata.name", name);
	if (strcmp(kind, "running") == 0)
		tl_set(b, "status", "{\"phase\":\"Running\"}");
	else if (strcmp(kind, "failed") == 0)
		tl_set(b, "status",
		       "{\"phase\":\"Failed\",\"message\":\"could not connect to db.app.svc:5432\","
		       "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":"
		       "\"DatabaseError\"}]}");
	else if (strcmp(kind, "completed-safety") == 0)
		tl_set(b, "status",
		       "{\"phase\":\"Completed\",\"artifact\":{\"location\":"
		       "\"file:///backup-volume/app/r1-safety/\",\"sha256\":\"" SHA2 "\"}}");
	return b;
}

static struct json_object *job_json(const char *kind)
{
	if (!kind)
		return NULL;
	struct json_object *j = tl_json("{\"metadata\":{\"name\":\"r1-restore\"},\"status\":{}}");
	if (strcmp(kind, "active") == 0)
		tl_set(j, "status.active", "1");
	else if (strcmp(kind, "complete") == 0)
		tl_set(j, "status.conditions",
		       "[{\"type\":\"Complete\",\"status\":\"True\",\"lastTransitionTime\":"
		       "\"2026-12-01T11:59:00Z\"}]");
	else if (strcmp(kind, "failed") == 0)
		tl_set(j, "status.conditions",
		       "[{\"type\":\"Failed\",\"status\":\"True\",\"reason\":\"PodFailurePolicy\","
		       "\"lastTransitionTime\":\"2026-12-01T11:50:00Z\"}]");
	return j;
}

static struct json_object *pod_json(const char *kind, const char *result)
{
	if (!kind)
		return NULL;
	struct json_object *p = tl_json("{\"metadata\":{\"name\":\"r1-restore-x\"},\"status\":{}}");
	struct json_object *c = tl_json("{\"name\":\"restore\",\"state\":{}}");
	int ok = strcmp(kind, "ok") == 0, oom = strcmp(kind, "oom") == 0;
	if (strcmp(kind, "run") == 0) {
		tl_set(p, "status.phase", "\"Running\"");
		tl_set(c, "state.running", "{}");
	} else if (strcmp(kind, "stuck") == 0) {
		tl_set(p, "status.phase", "\"Pending\"");
		tl_set(c, "state.waiting",
		       "{\"reason\":\"CreateContainerConfigError\",\"message\":\"secret \\\"pp\\\" "
		       "not found\"}");
	} else {
		tl_set(p, "status.phase", ok ? "\"Succeeded\"" : "\"Failed\"");
		struct json_object *t = json_object_new_object();
		json_object_object_add(t, "exitCode", json_object_new_int(ok ? 0 : oom ? 137 : 3));
		json_object_object_add(t, "reason",
				       json_object_new_string(ok    ? "Completed"
							      : oom ? "OOMKilled"
								    : "Error"));
		if (result)
			json_object_object_add(t, "message", json_object_new_string(result));
		struct json_object *st = NULL;
		json_object_object_get_ex(c, "state", &st);
		json_object_object_add(st, "terminated", t);
	}
	struct json_object *list = json_object_new_array();
	json_object_array_add(list, c);
	struct json_object *st = NULL;
	json_object_object_get_ex(p, "status", &st);
	json_object_object_add(st, "containerStatuses", list);
	return p;
}

struct run {
	struct json_object *obj, *backup, *safety, *job, *pod;
	struct api_restore *r;
	struct api_backup *b;
	char *perr;
	struct jobspec_opts opts;
	struct ctl_restore_input in;
	struct ctl_actions acts;
};

static void run_row(struct run *x, const struct row *row)
{
	memset(x, 0, sizeof(*x));
	x->obj = tl_json(restore_obj);
	for (size_t i = 0; i < 6 && row->edits[i]; i++)
		tl_apply_edit(x->obj, row->edits[i]);
	if (api_restore_parse(&x->r, x->obj) != 0)
		x->perr = strdup(err_msg());
	x->backup = backup_json(row->backup, "\"b1\"");
	if (x->backup)
		assert_int_equal(api_backup_parse(&x->b, x->backup), 0);
	x->safety = row->safety
			? backup_json(strcmp(row->safety, "completed") == 0 ? "completed-safety"
									    : row->safety,
				      "\"r1-safety\"")
			: NULL;
	x->job = job_json(row->job);
	x->pod = pod_json(row->pod, row->result);
	x->opts.image = "lifeboat-job";
	x->in = (struct ctl_restore_input){.obj = x->obj,
					   .restore = x->r,
					   .spec_error = x->perr,
					   .backup_obj = x->backup,
					   .backup = x->b,
					   .safety_obj = x->safety,
					   .opts = &x->opts,
					   .now = NOW};
	ctl_job_observe(&x->in.job, x->job);
	ctl_pod_observe(&x->in.pod, x->pod);
	assert_int_equal(ctl_restore_reconcile(&x->acts, &x->in), 0);
}

static void run_dispose(struct run *x)
{
	ctl_actions_dispose(&x->acts);
	json_object_put(x->obj);
	json_object_put(x->backup);
	json_object_put(x->safety);
	json_object_put(x->job);
	json_object_put(x->pod);
	api_restore_free(x->r);
	api_backup_free(x->b);
	free(x->perr);
}

static void check_row(const struct row *row)
{
	struct run x;
	run_row(&x, row);
	char *d = tl_describe(&x.acts);
	if (strcmp(d, row->actions) != 0)
		fail_msg("%s: actions %s, want %s", row->name, d, row->actions);
	const struct ctl_action *w = ctl_actions_find(&x.acts, CTL_ACTION_WRITE_STATUS);
	if (row->phase) {
		assert_non_null(w);
		const char *ph = json_object_get_string(tl_lookup(w->body, "phase"));
		if (!ph || strcmp(ph, row->phase) != 0)
			fail_msg("%s: phase %s, want %s", row->name, ph ? ph : "(none)",
				 row->phase);
	} else if (w) {
		fail_msg("%s: a status write, none wanted", row->name);
	}
	if (row->ready) {
		struct json_object *conds = tl_lookup(w->body, "conditions");
		const char *r = api_conditions_reason(conds, "Ready");
		if (!r || strcmp(r, row->ready) != 0)
			fail_msg("%s: Ready reason %s, want %s", row->name, r ? r : "(none)",
				 row->ready);
	}
	if (row->message_has) {
		const char *m = json_object_get_string(tl_lookup(w->body, "message"));
		if (!m || !strstr(m, row->message_has))
			fail_msg("%s: message \"%s\" lacks \"%s\"", row->name, m ? m : "",
				 row->message_has);
	}
	for (size_t i = 0; i < 3 && row->checks[i]; i++) {
		const char *eq = strchr(row->checks[i], '=');
		char *path = strndup(row->checks[i], (size_t)(eq - row->checks[i]));
		struct json_object *want = tl_json(eq + 1), *got = NULL;
		if (strncmp(path, "cond.", 5) == 0) {
			/* cond.TYPE.status|reason */
			char *type = strdup(path + 5), *dot = strchr(type, '.');
			*dot = '\0';
			struct json_object *conds = tl_lookup(w->body, "conditions");
			const char *v = strcmp(dot + 1, "reason") == 0
					    ? api_conditions_reason(conds, type)
					    : api_conditions_status(conds, type);
			got = v ? json_object_new_string(v) : NULL;
			free(type);
		} else {
			got = json_object_get(tl_lookup(w->body, path));
		}
		if (!json_object_equal(want, got))
			fail_msg("%s: %s is %s, want %s", row->name, path,
				 got ? json_object_to_json_string(got) : "(absent)", eq + 1);
		json_object_put(want);
		json_object_put(got);
		free(path);
	}
	/* The written status observed again, with nothing else changed: no
	 * further writes or events. (With a Job just created, the next
	 * reconcile sees it: the operator reads a Job that status names but its
	 * cache lacks from the API server before believing it gone.) */
	if (w && !ctl_actions_find(&x.acts, CTL_ACTION_CREATE_JOB)) {
		json_object_object_add(x.obj, "status", json_object_get(w->body));
		struct ctl_actions again = {0};
		assert_int_equal(ctl_restore_reconcile(&again, &x.in), 0);
		for (size_t i = 0; i < again.n; i++)
			if (again.v[i].kind == CTL_ACTION_WRITE_STATUS ||
			    again.v[i].kind == CTL_ACTION_EVENT) {
				char *d2 = tl_describe(&again);
				fail_msg("%s: the second reconcile is not idle: %s", row->name, d2);
			}
		ctl_actions_dispose(&again);
	}
	free(d);
	run_dispose(&x);
}

static const struct row rows[] = {
    {.name = "a new restore: the safety backup is created first",
     .backup = "completed",
     .actions = "CreateBackup,Event:N:SafetyBackup,WriteStatus",
     .phase = "SafetyBackup",
     .ready = "SafetyBackup",
     .checks = {"safetyBackup.name=\"r1-safety\"", "requestedBy=\"alice (groups: dba)\"",
		"restoredBackup.sha256=\"" SHA "\""}},
    {.name = "requestedBy without the webhook's annotation",
     .edits = {"metadata.annotations"},
     .backup = "completed",
     .actions = "CreateBackup,Event:N:SafetyBackup,WriteStatus",
     .phase = "SafetyBackup",
     .checks = {"requestedBy=\"" CTL_RESTORE_UNKNOWN_REQUESTER "\"",
		"target=\"postgresql://app@db.app.svc:5432/app\""}},
    {.name = "a wrong confirm: ConfirmationMismatch naming both, nothing launched",
     .edits = {"spec.confirm=\"ap\""},
     .backup = "completed",
     .actions = "Event:W:ConfirmationMismatch,WriteStatus",
     .phase = "Pending",
     .ready = "ConfirmationMismatch",
     .message_has = "confirm is \"ap\" but the target database is \"app\""},
    {.name = "the backup does not exist: BackupNotFound, looked at again",
     .actions = "Event:W:BackupNotFound,WriteStatus,RequeueAfter",
     .phase = "Pending",
     .ready = "BackupNotFound",
     .message_has = "DatabaseBackup b1 not found in namespace app"},
    {.name = "the backup still runs: BackupNotCompleted, waits",
     .backup = "running",
     .actions = "Event:N:BackupNotCompleted,WriteStatus,RequeueAfter",
     .phase = "Pending",
     .ready = "BackupNotCompleted",
     .message_has = "starts once it is Completed"},
    {.name = "the backup failed: BackupNotCompleted, a Warning, no wait",
     .backup = "failed",
     .actions = "Event:W:BackupNotCompleted,WriteStatus",
     .phase = "Pending",
     .message_has = "choose another backup"},
    {.name = "the safety backup runs: SafetyBackup, nothing else",
     .edits = {S_SAFETY},
     .backup = "completed",
     .safety = "running",
     .actions = "WriteStatus",
     .phase = "SafetyBackup",
     .message_has = "safety backup r1-safety is Running"},
    {.name = "the safety backup Completed: its facts recorded, the restore Job created",
     .edits = {S_SAFETY},
     .backup = "completed",
     .safety = "completed",
     .actions = "CreateJob,Event:N:Restoring,WriteStatus",
     .phase = "Restoring",
     .ready = "Restoring",
     .checks = {"safetyBackup.sha256=\"" SHA2 "\"", "jobName=\"r1-restore\"",
		"cond.SafetyBackupCompleted.reason=\"Succeeded\""}},
    {.name = "the safety backup failed: Failed before the target was touched",
     .edits = {S_SAFETY},
     .backup = "completed",
     .safety = "failed",
     .actions = "Event:W:SafetyBackupFailed,WriteStatus",
     .phase = "Failed",
     .ready = "SafetyBackupFailed",
     .message_has = "the target was not touched",
     .checks = {"targetUnchanged=true", "completionTime=\"2026-12-01T12:00:00Z\""}},
    {.name = "safetyBackup disabled: a Warning, recorded, straight to the Job",
     .edits = {"spec.safetyBackup={\"enabled\":false}"},
     .backup = "completed",
     .actions = "Event:W:SafetyBackupDisabled,CreateJob,Event:N:Restoring,WriteStatus",
     .phase = "Restoring",
     .checks = {"safetyBackup={\"enabled\":false}",
		"cond.SafetyBackupCompleted.reason=\"Disabled\""}},
    {.name = "the Job runs: Restoring",
     .edits = {S_RESTORING},
     .job = "active",
     .pod = "run",
     .actions = "WriteStatus",
     .phase = "Restoring",
     .message_has = "Job r1-restore restores b1 into postgresql://app@db.app.svc:5432/app"},
    {.name = "the Job's pod cannot start: Restoring, PodNotStarting",
     .edits = {S_RESTORING},
     .job = "active",
     .pod = "stuck",
     .actions = "Event:W:PodNotStarting,WriteStatus",
     .phase = "Restoring",
     .ready = "PodNotStarting",
     .message_has = "secret \"pp\" not found"},
    {.name = "the Job completed: Completed with the result's facts",
     .edits = {S_RESTORING},
     .job = "complete",
     .pod = "ok",
     .result = result_ok,
     .actions = "Event:N:Restored,WriteStatus",
     .phase = "Completed",
     .ready = "Succeeded",
     .checks = {"auditRecord=\"file:///backup-volume/app/_restores/2026/12/r1.json\"",
		"schemaCheck.result=\"Match\"", "completionTime=\"2026-12-01T11:59:00Z\""}},
    {.name = "Completed: restoredBackup from the job",
     .edits = {S_RESTORING},
     .job = "complete",
     .pod = "ok",
     .result = result_ok,
     .actions = "Event:N:Restored,WriteStatus",
     .phase = "Completed",
     .checks = {"restoredBackup.schemaVersion=\"42\"", "restoredBackup.name=\"b1\"",
		"cond.SchemaCompatible.reason=\"Match\""}},
    {.name = "Completed with TargetUnknown: the CRD's Unknown",
     .edits = {S_RESTORING},
     .job = "complete",
     .pod = "ok",
     .result = result_unknown,
     .actions = "Event:N:Restored,WriteStatus",
     .phase = "Completed",
     .checks = {"schemaCheck.result=\"Unknown\"", "cond.SchemaCompatible.status=\"Unknown\""}},
    {.name = "a corrupt artifact: Failed, target unchanged, the audit record named",
     .edits = {S_RESTORING},
     .job = "failed",
     .pod = "fail",
     .result = result_integrity,
     .actions = "Event:W:IntegrityCheckFailed,WriteStatus",
     .phase = "Failed",
     .ready = "IntegrityCheckFailed",
     .message_has = "the target is unchanged",
     .checks = {"targetUnchanged=true",
		"auditRecord=\"file:///backup-volume/app/_restores/2026/12/r1.json\""}},
    {.name = "RequireMatch refused: SchemaMismatch",
     .edits = {S_RESTORING},
     .job = "failed",
     .pod = "fail",
     .result = result_schema,
     .actions = "Event:W:SchemaMismatch,WriteStatus",
     .phase = "Failed",
     .ready = "SchemaMismatch",
     .checks = {"schemaCheck.targetVersion=\"41\"", "cond.SchemaCompatible.status=\"False\""}},
    {.name = "OOMKilled: Failed, whether the target changed is unknown",
     .edits = {S_RESTORING},
     .job = "failed",
     .pod = "oom",
     .actions = "Event:W:OOMKilled,WriteStatus",
     .phase = "Failed",
     .message_has = "unknown"},
    {.name = "the Job finished, its pod not cached yet: wait",
     .edits = {S_RESTORING},
     .job = "complete",
     .pod = "run",
     .actions = "RequeueAfter"},
    {.name = "status names the Job but it is gone: RestoreJobLost, never run again",
     .edits = {S_RESTORING},
     .backup = "completed",
     .safety = "completed",
     .actions = "Event:W:RestoreJobLost,WriteStatus",
     .phase = "Failed",
     .ready = "RestoreJobLost"},
    {.name = "a Job found without a status naming it (the write was lost): adopted",
     .edits = {S_SAFETY},
     .backup = "completed",
     .safety = "completed",
     .job = "active",
     .pod = "run",
     .actions = "Event:N:Restoring,WriteStatus",
     .phase = "Restoring",
     .checks = {"jobName=\"r1-restore\""}},
    {.name = "Completed is final", .edits = {"status={\"phase\":\"Completed\"}"}, .actions = ""},
    {.name = "Failed is final, whatever is observed",
     .edits = {"status={\"phase\":\"Failed\"}"},
     .backup = "completed",
     .actions = ""},
    {.name = "an unreadable spec: InvalidSpec",
     .edits = {"spec.schemaPolicy=\"Sometimes\""},
     .backup = "completed",
     .actions = "Event:W:InvalidSpec,WriteStatus",
     .phase = "Pending",
     .ready = "InvalidSpec",
     .message_has = "spec.schemaPolicy"},
    {.name = "files without a path: InvalidSpec naming spec.files.path",
     .edits = {"spec.files={\"claimName\":\"uploads\"}", "spec.safetyBackup={\"enabled\":false}"},
     .backup = "completed",
     .actions = "Event:W:SafetyBackupDisabled,Event:W:InvalidSpec,WriteStatus",
     .phase = "Pending",
     .message_has = "spec.files.path"},
};

static void restore_reconcile__each_case(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		printf("  %s\n", rows[i].name);
		check_row(&rows[i]);
	}
}

/* The safety backup and the Job as created: what they say. */
static void restore_reconcile__the_children(void **state)
{
	(void)state;
	struct run x;
	const struct row first = {.edits = {"spec.jobTemplate={\"backoffLimit\":3,\"image\":"
					    "\"registry.example/lifeboat-job:16\"}"},
				  .backup = "completed"};
	run_row(&x, &first);
	const struct ctl_action *c = ctl_actions_find(&x.acts, CTL_ACTION_CREATE_BACKUP);
	assert_non_null(c);
	assert_string_equal(c->name, "r1-safety");
	struct json_object *b = c->body;
	assert_string_equal(json_object_get_string(tl_lookup(b, "spec.deletionPolicy")), "Retain");
	assert_string_equal(json_object_get_string(tl_lookup(b, "spec.database.host")),
			    "db.app.svc");
	assert_string_equal(json_object_get_string(tl_lookup(b, "spec.storage.volume.claimName")),
			    "db-backups");
	assert_string_equal(
	    json_object_get_string(tl_lookup(b, "spec.encryption.passphraseSecretRef.name")), "pp");
	assert_string_equal(json_object_get_string(tl_lookup(b, "metadata.ownerReferences.0.kind")),
			    "DatabaseRestore");
	assert_string_equal(json_object_get_string(tl_lookup(b, "metadata.ownerReferences.0.uid")),
			    "u-r");
	assert_int_equal(json_object_get_int(tl_lookup(b, "spec.jobTemplate.backoffLimit")), 3);
	assert_string_equal(json_object_get_string(tl_lookup(b, "spec.jobTemplate.image")),
			    "registry.example/lifeboat-job:16");
	/* the safety backup itself parses as a DatabaseBackup */
	struct api_backup *sb = NULL;
	tl_set(b, "metadata.uid", "\"u-s\""); /* the API server's */
	if (api_backup_parse(&sb, b) != 0)
		fail_msg("the safety backup does not parse: %s", err_msg());
	api_backup_free(sb);
	run_dispose(&x);

	const struct row second = {
	    .edits = {S_SAFETY}, .backup = "completed", .safety = "completed"};
	run_row(&x, &second);
	c = ctl_actions_find(&x.acts, CTL_ACTION_CREATE_JOB);
	assert_non_null(c);
	assert_string_equal(c->name, "r1-restore");
	struct json_object *j = c->body;
	assert_int_equal(json_object_get_int(tl_lookup(j, "spec.backoffLimit")), 0);
	assert_null(tl_lookup(j, "spec.ttlSecondsAfterFinished"));
	assert_string_equal(json_object_get_string(tl_lookup(j, "metadata.ownerReferences.0.kind")),
			    "DatabaseRestore");
	struct json_object *ctr = tl_lookup(j, "spec.template.spec.containers.0");
	assert_string_equal(json_object_get_string(tl_lookup(ctr, "name")), "restore");
	assert_string_equal(json_object_get_string(tl_lookup(ctr, "args.0")), "restore");
	struct json_object *env = tl_lookup(ctr, "env");
	char *all = strdup(json_object_to_json_string(env));
	const char *want[] = {"\"LIFEBOAT_CONFIRM\"",
			      "\"LIFEBOAT_NAME\", \"value\": \"b1\"",
			      "\"LIFEBOAT_SAFETY_BACKUP_SHA256\", \"value\": \"" SHA2 "\"",
			      "\"LIFEBOAT_REQUESTED_BY\", \"value\": \"alice (groups: dba)\"",
			      "\"LIFEBOAT_RESTORE_NAME\", \"value\": \"r1\"",
			      "\"LIFEBOAT_SCHEMA_VERSION_QUERY\"",
			      "\"LIFEBOAT_PASSPHRASE_FILE\""};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(all, want[i]))
			fail_msg("the restore Job's env lacks %s: %s", want[i], all);
	assert_null(strstr(all, "LIFEBOAT_NO_SAFETY_BACKUP"));
	free(all);
	run_dispose(&x);
}

static void restore_safety_name__long_names_fit(void **state)
{
	(void)state;
	char *n = ctl_restore_safety_name("r1");
	assert_string_equal(n, "r1-safety");
	free(n);
	char longest[254];
	memset(longest, 'a', 253);
	longest[253] = '\0';
	n = ctl_restore_safety_name(longest);
	assert_true(strlen(n) <= 253);
	assert_string_equal(n + strlen(n) - 7, "-safety");
	char *again = ctl_restore_safety_name(longest);
	assert_string_equal(n, again);
	free(again);
	free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(restore_reconcile__each_case),
	    cmocka_unit_test(restore_reconcile__the_children),
	    cmocka_unit_test(restore_safety_name__long_names_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
