/* `lifeboat restore`: atomic by construction. The archive becomes one
 * BEGIN..COMMIT script (pg_restore --single-transaction --file=-) fed to psql;
 * the script's last bytes, holding COMMIT, are withheld until the stored
 * object's size, SHA-256s, MDC and compression trailer have all been checked
 * and pg_restore has exited cleanly. Any failure kills psql before COMMIT, so
 * the server rolls everything back and the target stays as it was. */
#include "job.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/xmalloc.h"
#include "artifact.h"
#include "files.h"
#include "holdback.h"
#include "inject.h"
#include "pg.h"
#include "proc.h"
#include "readback.h"
#include "result.h"
#include "store.h"
#include "tar.h"

#define COPY_CHUNK (128 * 1024)

/* Copies pg_restore's script output into the holdback stage. */
struct copier {
	pthread_t thread;
	int fd;
	struct stage *into;
	int rc;
	char msg[1024];
};

static void *copier_main(void *arg)
{
	struct copier *c = arg;
	uint8_t *chunk = xmalloc(COPY_CHUNK);
	for (;;) {
		ssize_t r = read(c->fd, chunk, COPY_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			c->rc = err_set(E_IO, "reading pg_restore's output: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if ((c->rc = stage_write(c->into, chunk, (size_t)r)))
			break;
	}
	if (c->rc)
		snprintf(c->msg, sizeof(c->msg), "%s", err_msg());
	free(chunk);
	return NULL;
}

/* --clean: inside the restore's own transaction, drop every user schema
 * (CASCADE) and large object, then recreate an empty public schema, so the
 * database ends up holding exactly what the backup holds. pg_restore's own
 * --clean cannot be used atomically: some of its DROPs fail (inherited
 * partition constraints) and would abort the transaction. */
static const char *clean_sql(int server_version_num)
{
	return server_version_num >= 140000
		   ? "DO $lifeboat$ DECLARE s record; BEGIN FOR s IN SELECT nspname FROM pg_namespace "
		     "WHERE nspname NOT IN ('pg_catalog','information_schema','pg_toast') AND nspname "
		     "NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' LOOP "
		     "EXECUTE format('DROP SCHEMA %I CASCADE', s.nspname); END LOOP; PERFORM "
		     "lo_unlink(oid) FROM pg_largeobject_metadata; END $lifeboat$;\n"
		     "CREATE SCHEMA public AUTHORIZATION pg_database_owner;\n"
		     "GRANT USAGE ON SCHEMA public TO PUBLIC;\n"
		     "COMMENT ON SCHEMA public IS 'standard public schema';\n"
		   : "DO $lifeboat$ DECLARE s record; BEGIN FOR s IN SELECT nspname FROM pg_namespace "
		     "WHERE nspname NOT IN ('pg_catalog','information_schema','pg_toast') AND nspname "
		     "NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' LOOP "
		     "EXECUTE format('DROP SCHEMA %I CASCADE', s.nspname); END LOOP; PERFORM "
		     "lo_unlink(oid) FROM pg_largeobject_metadata; END $lifeboat$;\n"
		     "CREATE SCHEMA public;\n"
		     "GRANT ALL ON SCHEMA public TO PUBLIC;\n"
		     "COMMENT ON SCHEMA public IS 'standard public schema';\n";
}

/* Extracts and checks the files archive into a sibling of --files; *out
 * then awaits files_restore_commit. Nothing outside the sibling changes. */
static int restore_files_extract(struct files_restore **out, const struct job_opts *o,
				 struct store *st, const struct manifest *m)
{
	struct files_restore *fr = NULL;
	struct readback rb;
	int rc;
	if ((rc = files_restore_new(&fr, o->files)))
		return rc;
	struct stage *sink = files_restore_sink(fr);
	if ((rc = readback_init(&rb, m, o->passphrase, o->passlen, sink))) {
		files_restore_free(fr);
		return rc;
	}
	log_info("extracting the files archive %s (%llu entries) beside %s", m->files.key,
		 (unsigned long long)m->files.count, o->files);
	rc = readback_run_files(&rb, st, m, o->namespace_, o->name);
	if (!rc && tar_reader_count(sink) != m->files.count)
		rc = err_set(E_INTEGRITY,
			     "the files archive %s holds %llu entries, but the manifest says %llu; "
			     "restore another backup",
			     m->files.key, (unsigned long long)tar_reader_count(sink),
			     (unsigned long long)m->files.count);
	readback_dispose(&rb);
	if (rc) {
		files_restore_free(fr);
		return err_wrap("restore of %s/%s failed before the database was touched; %s is "
				"unchanged",
				o->namespace_, o->name, o->files);
	}
	*out = fr;
	return 0;
}

int restore_run(const struct job_opts *o, struct json_object *result)
{
	struct manifest m;
	struct readback rb;
	struct pg_target target;
	struct pg_info info;
	struct proc psql, script;
	struct copier cp;
	struct store *st = NULL;
	struct stage *hold = NULL;   /* owned until a chain takes it */
	struct stage *holder = NULL; /* borrowed: the holdback stage */
	struct files_restore *fr = NULL;
	int have_m = 0, have_rb = 0, have_target = 0, have_info = 0, have_psql = 0,
	    have_script = 0, copier_running = 0, rc;
	char *dir = NULL, *location = NULL;
	char tool_version[32];
	time_t started = time(NULL);
	int custom;

	memset(&rb, 0, sizeof(rb));
	memset(&cp, 0, sizeof(cp));
	if ((rc = artifact_check_name(o->name, "--name")) ||
	    (rc = artifact_check_namespace(o->namespace_, "--namespace")))
		goto done;
	if (!o->db || !*o->db) {
		rc = err_set(E_INVALID, "--db is required (or LIFEBOAT_DB): the target database URI");
		goto done;
	}
	if ((rc = pg_target_parse(&target, o->db)))
		goto done;
	have_target = 1;
	if (!o->confirm || strcmp(o->confirm, target.dbname) != 0) {
		rc = err_set(E_INVALID,
			     "--confirm must equal the target database name \"%s\" (from --db) to "
			     "confirm that its contents will be replaced; got \"%s\"",
			     target.dbname, o->confirm ? o->confirm : "");
		goto done;
	}
	if ((rc = store_open(&st, o->storage)) ||
	    (rc = artifact_load_manifest(&m, st, o->namespace_, o->name)))
		goto done;
	have_m = 1;
	custom = strcmp(m.format, "custom") == 0;
	if (m.encrypted && !o->passphrase) {
		rc = err_set(E_INVALID, "backup %s/%s is encrypted: give --passphrase-file or "
					"LIFEBOAT_PASSPHRASE",
			     o->namespace_, o->name);
		goto done;
	}
	if (o->files && !m.files.key) {
		rc = err_set(E_INVALID,
			     "--files %s: backup %s/%s has no files archive (it was taken without "
			     "--files); drop --files to restore only the database",
			     o->files, o->namespace_, o->name);
		goto done;
	}
	if (!o->files && m.files.key)
		log_info("backup %s/%s also holds a files archive (%s, %llu entries); --files is not "
			 "given, so only the database is restored",
			 o->namespace_, o->name, m.files.key, (unsigned long long)m.files.count);
	dir = artifact_key(o->namespace_, o->name, NULL);
	location = store_location(st, dir);
	log_info("pre-flight: connecting to %s", target.display);
	if ((rc = pg_preflight(&info, &target, NULL)))
		goto done;
	have_info = 1;
	if (custom && (rc = pg_check_restore_tool(tool_version, m.dump_version)))
		goto done;
	if (o->files && (rc = restore_files_extract(&fr, o, st, &m)))
		goto done;

	/* psql applies the script; its stdout joins the captured stderr. */
	char *psql_path = pg_tool_path("psql");
	const char *psql_argv[] = {psql_path, "--no-psqlrc", "--quiet", "--no-password",
				   "--set=ON_ERROR_STOP=1", "--output=/dev/null", "--file=-",
				   NULL};
	/* NOTICEs ("drop cascades to ...") would drown the errors that matter. */
	size_t nenv = 0;
	while (target.env[nenv])
		nenv++;
	const char **psql_env = xcalloc(nenv + 2, sizeof(*psql_env));
	for (size_t i = 0; i < nenv; i++)
		psql_env[i] = target.env[i];
	psql_env[nenv] = "PGOPTIONS=-c client_min_messages=warning";
	rc = proc_start(&psql, psql_argv, psql_env, PROC_PIPE_STDIN | PROC_STDOUT_TO_STDERR, -1);
	free(psql_env);
	free(psql_path);
	if (rc)
		goto done;
	have_psql = 1;
	holder = hold = holdback_new(stage_fd_new(psql.in, "psql"));
	if (o->clean)
		hold = inject_new(clean_sql(info.server_version_num), hold);

	struct stage *sink;
	if (custom) {
		char *pr = pg_tool_path("pg_restore");
		const char *argv[] = {pr, "--file=-", "--single-transaction", NULL};
		rc = proc_start(&script, argv, NULL, PROC_PIPE_STDIN | PROC_PIPE_STDOUT, -1);
		free(pr);
		if (rc)
			goto done;
		have_script = 1;
		cp.fd = script.out;
		cp.into = hold;
		if (pthread_create(&cp.thread, NULL, copier_main, &cp) != 0) {
			rc = err_set(E_IO, "cannot start the restore copier thread");
			goto done;
		}
		copier_running = 1;
		sink = stage_fd_new(script.in, "pg_restore");
	} else {
		/* The plain script flows through the holdback straight to psql;
		 * the read chain owns it from here. */
		sink = hold;
		hold = NULL;
	}
	if ((rc = readback_init(&rb, &m, o->passphrase, o->passlen, sink)))
		goto done;
	have_rb = 1;
	log_info("restoring %s/%s (%s, %llu bytes) into %s", o->namespace_, o->name, m.format,
		 (unsigned long long)m.objects[0].size, target.display);
	if ((rc = readback_run(&rb, st, &m, o->namespace_, o->name)))
		goto done;
	if (custom) {
		proc_close_in(&script);
		pthread_join(cp.thread, NULL);
		copier_running = 0;
		if (cp.rc) {
			rc = err_set(cp.rc, "%s", cp.msg);
			goto done;
		}
		if ((rc = proc_wait(&script))) {
			rc = err_set(E_RESTORE, "pg_restore could not read the archive: %s", err_msg());
			goto done;
		}
	}
	if ((rc = holdback_check_commit(holder)))
		goto done;
	/* Everything checked: release COMMIT. */
	if ((rc = holdback_release(holder)))
		goto done;
	if ((rc = proc_wait(&psql))) {
		rc = err_set(E_RESTORE, "psql failed applying the backup: %s", err_msg());
		goto done;
	}
	have_psql = 0;
	proc_dispose(&psql);
	if (fr) {
		if ((rc = files_restore_commit(fr))) {
			err_wrap("restore of %s/%s: the database %s was restored and committed, but the "
				 "folder was not",
				 o->namespace_, o->name, target.display);
			goto done;
		}
		log_info("folder %s restored (%llu entries)", o->files,
			 (unsigned long long)m.files.count);
	}

	struct jobresult_restore r = {
	    .target = target.display,
	    .target_server_version = info.server_version,
	    .clean = {o->clean, 1},
	    .start_time = {started, 1},
	    .completion_time = {time(NULL), 1},
	};
	jobresult_add_restore(result, &r);
	result_add_manifest(result, &m, location);
	log_info("restore of %s/%s into %s committed", o->namespace_, o->name, target.display);
done:
	if (rc) {
		/* psql first: killing it before COMMIT makes the server roll back. */
		if (have_psql)
			proc_kill(&psql);
		if (have_script)
			proc_kill(&script);
		if (have_psql)
			err_wrap("restore of %s/%s failed and was rolled back; %s is unchanged",
				 o->namespace_, o->name, target.display);
	}
	if (copier_running)
		pthread_join(cp.thread, NULL);
	if (have_rb)
		readback_dispose(&rb);
	files_restore_free(fr);
	stage_free_chain(hold);
	if (have_script)
		proc_dispose(&script);
	if (have_psql)
		proc_dispose(&psql);
	if (have_info)
		pg_info_dispose(&info);
	if (have_target)
		pg_target_dispose(&target);
	if (have_m)
		manifest_dispose(&m);
	free(dir);
	free(location);
	store_free(st);
	return rc;
}
