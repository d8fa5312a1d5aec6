/* `lifeboat verify`: re-reads a stored backup (the dump, and the files
 * archive when there is one) and checks everything the manifest promises;
 * records the verdict as verified.json on success. */
#include "job/cmd/job.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"
#include "job/db/pg.h"
#include "job/pipeline/proc.h"
#include "job/pipeline/readback.h"
#include "job/cmd/result.h"
#include "job/store/store.h"
#include "job/pipeline/tar.h"

/* The files archive: size, both SHA-256s, the MDC, and a tar stream that
 * parses to its end-of-archive marker holding the recorded entries. */
static int verify_files(const struct job_opts *o, struct store *st, const struct manifest *m,
			const char *location)
{
	struct readback rb;
	struct stage *tar = tar_reader_new(NULL, NULL);
	int rc = readback_init(&rb, m, o->passphrase, o->passlen, tar);
	if (rc)
		return rc;
	rc = readback_run_files(&rb, st, m, o->namespace_, o->name);
	if (!rc && tar_reader_count(tar) != m->files.count)
		rc = err_set(E_INTEGRITY,
			     "the files archive %s of %s holds %llu entries, but the manifest says "
			     "%llu; restore another backup",
			     m->files.key, location, (unsigned long long)tar_reader_count(tar),
			     (unsigned long long)m->files.count);
	readback_dispose(&rb);
	return rc;
}

int verify_run(const struct job_opts *o, struct json_object *result)
{
	/* Each starts zero-safe: the clean-up releases whatever was set. */
	struct manifest m;
	struct readback rb;
	struct proc lister = PROC_INIT;
	struct store *st = NULL;
	int rc;
	char *dir = NULL, *location = NULL, *vkey = NULL;
	const char *method = "sha256+mdc";

	manifest_init(&m);
	memset(&rb, 0, sizeof(rb));
	if ((rc = artifact_check_name(o->name, "--name")) ||
	    (rc = artifact_check_namespace(o->namespace_, "--namespace")) ||
	    (rc = store_open(&st, o->storage)) ||
	    (rc = artifact_load_manifest(&m, st, o->namespace_, o->name)))
		goto done;
	dir = artifact_key(o->namespace_, o->name, NULL);
	location = store_location(st, dir);
	struct stage *sink;
	if (strcmp(m.format, "custom") == 0) {
		char version[32];
		if ((rc = pg_check_restore_tool(version, m.dump_version)))
			goto done;
		/* pg_restore --list proves the archive's table of contents reads. */
		char *pg_restore = pg_tool_path("pg_restore");
		const char *argv[] = {pg_restore, "--list", NULL};
		rc = proc_start(&lister, argv, NULL, PROC_PIPE_STDIN | PROC_STDOUT_NULL, -1);
		free(pg_restore);
		if (rc)
			goto done;
		sink = stage_fd_new(lister.in, "pg_restore --list");
		method = "sha256+mdc+pg_restore-list";
	} else {
		sink = stage_null_new();
	}
	if (!m.encrypted)
		method = strcmp(m.format, "custom") == 0 ? "sha256+pg_restore-list" : "sha256";
	if ((rc = readback_init(&rb, &m, o->passphrase, o->passlen, sink)))
		goto done;
	rc = readback_run(&rb, st, &m, o->namespace_, o->name);
	if (lister.started && rc) {
		proc_kill(&lister); /* the first verdict stands */
	} else if (lister.started) {
		int lrc = proc_wait(&lister);
		/* Interrupted, or its exit status unknown (a failed waitpid): a
		 * local failure, no verdict on the archive. */
		if (lrc && (atomic_load(&stage_interrupted) || lister.wait_errno))
			rc = lrc;
		else if (lrc)
			rc = err_set(E_INTEGRITY,
				     "pg_restore --list cannot read the archive of %s: %s; restore "
				     "another backup",
				     location, err_msg());
	}
	if (rc)
		goto done;
	char method_buf[64];
	if (m.files.key) {
		if ((rc = verify_files(o, st, &m, location)))
			goto done;
		snprintf(method_buf, sizeof(method_buf), "%s+tar", method);
		method = method_buf;
		log_info("files archive %s verified: %llu entries", m.files.key,
			 (unsigned long long)m.files.count);
	}

	/* Record the verdict beside the backup, for `lifeboat list`. */
	struct json_object *v = json_object_new_object();
	time_t now = time(NULL);
	result_add_time(v, "time", now);
	result_add_str(v, "method", method);
	result_add_str(v, "sha256", manifest_stream_sha256(&m));
	vkey = artifact_key(o->namespace_, o->name, ARTIFACT_VERIFIED);
	const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY);
	/* The checks passed: failing to record that (read-only storage) is
	 * worth a warning, not a failed verification. */
	if (store_put(st, vkey, text, strlen(text)) != 0)
		log_warn("backup verified, but the verdict could not be recorded: %s", err_msg());
	json_object_put(v);
	result_add_manifest(result, &m, location);
	struct jobresult_verification ver = {
	    .verified = {1, 1}, .time = {now, 1}, .method = (char *)(uintptr_t)method};
	jobresult_add_verification(result, &ver);
	log_info("backup %s/%s verified (%s)", o->namespace_, o->name, method);
done:
	readback_dispose(&rb);
	proc_dispose(&lister);
	manifest_dispose(&m);
	free(dir);
	free(location);
	free(vkey);
	store_free(st);
	return rc;
}
