/* Fuzz target: a pod's termination message into jobresult_parse
 * (common/jobresult.c), what the operator reads every Job's result with.
 * Properties: the error is one jobresult.h documents and leaves *out
 * untouched; what is taken obeys the rules the CRD's status schema holds
 * (CamelCase reason, 64 lowercase hex digits, sizes not negative, at most
 * JOBRESULT_MAX_OBJECTS objects, times that format back to themselves); and
 * the sections written again with the job's own writers (jobresult_add_*,
 * jobresult_render) parse back to the same rendering. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/jobresult.h"
#include "tests/fuzz/fuzz.h"

static int hex64(const char *s)
{
	if (!s)
		return 1;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

static int camel(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!s)
		return 1;
	if (n == 0 || n > 1024 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		int word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '_';
		if (!word && !(i < n - 1 && (c == ',' || c == ':')))
			return 0;
	}
	return 1;
}

static void check_int(const struct jobresult_int *v, int nonneg, const char *what)
{
	FUZZ_CHECK(!v->set || !nonneg || v->value >= 0, "%s is negative: %lld", what,
		   (long long)v->value);
}

static void check_time(const struct jobresult_time *v, const char *what)
{
	char s[32];
	time_t back;
	if (!v->set)
		return;
	jobresult_time_format(s, v->value);
	FUZZ_CHECK(jobresult_time_parse(&back, s) == 0 && back == v->value,
		   "%s does not format back to itself: %s", what, s);
}

static void check_rules(const struct jobresult *r)
{
	const struct jobresult_artifact *a = &r->artifact;
	FUZZ_CHECK(r->command && r->phase, "command and phase");
	FUZZ_CHECK(strcmp(r->phase, JOBRESULT_PHASE_COMPLETED) == 0 ||
		       strcmp(r->phase, JOBRESULT_PHASE_FAILED) == 0,
		   "phase %s", r->phase);
	FUZZ_CHECK(camel(r->reason), "reason \"%s\" is not CamelCase", r->reason);
	FUZZ_CHECK(a->nobjects <= JOBRESULT_MAX_OBJECTS, "%zu objects", a->nobjects);
	for (size_t i = 0; i < a->nobjects; i++) {
		FUZZ_CHECK(a->objects[i].key && *a->objects[i].key, "objects[%zu] has no key", i);
		FUZZ_CHECK(hex64(a->objects[i].sha256), "objects[%zu].sha256", i);
		check_int(&a->objects[i].size, 1, "objects[].size");
	}
	FUZZ_CHECK(hex64(a->sha256) && hex64(a->plaintext_sha256) && hex64(a->files.sha256) &&
		       hex64(r->restored_backup.sha256),
		   "a sha256 that is not 64 lowercase hex digits");
	FUZZ_CHECK(!a->format || strcmp(a->format, "custom") == 0 ||
		       strcmp(a->format, "plain") == 0,
		   "artifact.format %s", a->format);
	FUZZ_CHECK(!a->files.object || *a->files.object, "artifact.files without an object");
	check_int(&a->size, 1, "artifact.size");
	check_int(&a->plaintext_size, 1, "artifact.plaintextSize");
	check_int(&a->files.size, 1, "artifact.files.size");
	check_int(&a->files.count, 1, "artifact.files.count");
	check_int(&r->peak_rss_kib, 1, "peakRssKiB");
	check_int(&r->deleted_objects, 1, "deletedObjects");
	check_int(&r->freed_bytes, 1, "freedBytes");
	check_int(&r->count, 1, "count");
	check_int(&r->database.size_bytes, 1, "database.sizeBytes");
	check_int(&r->database.table_count, 1, "database.tableCount");
	FUZZ_CHECK(!r->duration_seconds.set ||
		       (isfinite(r->duration_seconds.value) && r->duration_seconds.value >= 0),
		   "durationSeconds %g", r->duration_seconds.value);
	check_time(&r->start_time, "startTime");
	check_time(&r->completion_time, "completionTime");
	check_time(&a->created_at, "artifact.createdAt");
	check_time(&r->verification.time, "verification.time");
	check_time(&r->restore.start_time, "restore.startTime");
	check_time(&r->restore.completion_time, "restore.completionTime");
	check_time(&r->restored_backup.created_at, "restoredBackup.createdAt");
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

/* The result as the job would write it: the structural fields, a few top
 * ones, and each section present through its writer. */
static char *render(const struct jobresult *r)
{
	struct json_object *o = json_object_new_object();
	char *text;
	add_str(o, JOBRESULT_COMMAND, r->command);
	add_str(o, JOBRESULT_PHASE, r->phase);
	add_str(o, JOBRESULT_NAMESPACE, r->namespace_);
	add_str(o, JOBRESULT_NAME, r->name);
	add_str(o, JOBRESULT_REASON, r->reason);
	add_str(o, JOBRESULT_MESSAGE, r->message);
	if (r->has_artifact)
		jobresult_add_artifact(o, &r->artifact);
	if (r->has_database)
		jobresult_add_database(o, &r->database);
	if (r->has_verification)
		jobresult_add_verification(o, &r->verification);
	if (r->has_restore)
		jobresult_add_restore(o, &r->restore);
	if (r->has_restored_backup)
		jobresult_add_restored_backup(o, &r->restored_backup);
	if (r->has_schema_check)
		jobresult_add_schema_check(o, &r->schema_check);
	text = strdup(jobresult_render(o));
	json_object_put(o);
	FUZZ_CHECK(text, "out of memory");
	return text;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jobresult r, again, untouched;
	int rc;

	memset(&r, 0xa5, sizeof(r));
	memcpy(&untouched, &r, sizeof(r));
	rc = jobresult_parse(&r, (const char *)data, size);
	if (fuzz_debug())
		fprintf(stderr, "jobresult_parse: %d %s\n", rc, rc ? err_msg() : "");
	if (rc) {
		FUZZ_CHECK(rc == E_INVALID || rc == E_TOOBIG,
			   "jobresult_parse returned %d, which jobresult.h does not document", rc);
		FUZZ_CHECK(memcmp(&r, &untouched, sizeof(r)) == 0, "a failed parse changed *out");
		return 0;
	}
	check_rules(&r);
	(void)jobresult_ok(&r);
	(void)jobresult_has_artifact(&r);

	char *text = render(&r);
	/* jobresult_render keeps a result within a termination message by
	 * dropping artifact.objects (documented): what parses back from that
	 * renders an empty list, and the fixpoint is one step later. */
	int capped = r.has_artifact && !strstr(text, "\"objects\":");
	for (int round = 0; round < 2; round++) {
		size_t len = strlen(text);
		/* Absent fields are written as null: the rendering may outgrow a
		 * termination message, which the parser refuses, rightly. */
		if (len > JOBRESULT_MAX_BYTES)
			break;
		rc = jobresult_parse(&again, text, len);
		FUZZ_CHECK(rc == 0, "the job's own rendering does not parse: %s", text);
		check_rules(&again);
		char *text2 = render(&again);
		jobresult_dispose(&again);
		if (round == 1 || !capped)
			FUZZ_CHECK(strcmp(text, text2) == 0,
				   "rendered twice, the texts differ:\n%s\n%s", text, text2);
		free(text);
		text = text2;
		if (!capped)
			break;
	}
	free(text);
	jobresult_dispose(&r);
	return 0;
}
