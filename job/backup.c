/* `lifeboat backup`: pre-flight, pg_dump, then the streaming chain
 * hash -> compress -> encrypt -> hash -> store; with --files the folder's
 * tar stream through the same chain into its own object; the manifest last. */
#include "job.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "../common/err.h"
#include "../common/jobenv.h"
#include "../common/log.h"
#include "../common/xmalloc.h"
#include "artifact.h"
#include "async.h"
#include "compress.h"
#include "files.h"
#include "interrupt.h"
#include "manifest.h"
#include "openpgp.h"
#include "pg.h"
#include "proc.h"
#include "parts_plan.h"
#include "result.h"
#include "split.h"
#include "store.h"

#define READ_CHUNK (256 * 1024)

/* The processes producing the dump: pg_dump, and for plain format a
 * pg_restore turning the archive into one BEGIN..COMMIT script. */
struct dumper {
	struct proc dump;
	struct proc script;
	int have_script;
	int out; /* what we read */
};

static int dumper_start(struct dumper *d, const char *format, const struct pg_target *t)
{
	char *pg_dump = pg_tool_path("pg_dump"), *pg_restore = pg_tool_path("pg_restore");
	const char *dump_argv[] = {pg_dump, "--format=custom", "--compress=0", "--no-password", NULL};
	const char *script_argv[] = {pg_restore, "--file=-", "--single-transaction", NULL};
	int rc;
	memset(d, 0, sizeof(*d));
	if ((rc = proc_start(&d->dump, dump_argv, (const char *const *)t->env, PROC_PIPE_STDOUT, -1)))
		goto done;
	d->out = d->dump.out;
	if (strcmp(format, "plain") == 0) {
		rc = proc_start(&d->script, script_argv, NULL, PROC_PIPE_STDOUT, d->dump.out);
		/* pg_restore has its own copy now; ours would hide its EOF. */
		close(d->dump.out);
		d->dump.out = -1;
		if (rc) {
			proc_kill(&d->dump);
			proc_dispose(&d->dump);
			goto done;
		}
		d->have_script = 1;
		d->out = d->script.out;
	}
done:
	free(pg_dump);
	free(pg_restore);
	return rc;
}

/* Waits for every process; the first failure wins, named. */
static int dumper_wait(struct dumper *d)
{
	char first[1024] = "";
	int rc = proc_wait(&d->dump);
	if (rc)
		snprintf(first, sizeof(first), "%s", err_msg());
	if (d->have_script) {
		int rc2 = proc_wait(&d->script);
		if (rc2 && !rc) {
			rc = rc2;
			snprintf(first, sizeof(first), "pg_restore (plain-format conversion) failed: %s",
				 err_msg());
		}
	}
	return rc ? err_set(E_DB, "%s", first) : 0;
}

static void dumper_dispose(struct dumper *d, int kill_them)
{
	if (kill_them) {
		if (d->have_script)
			proc_kill(&d->script);
		proc_kill(&d->dump);
	}
	if (d->have_script)
		proc_dispose(&d->script);
	proc_dispose(&d->dump);
}

static int pump(struct stage *head, int fd)
{
	uint8_t *chunk = xmalloc(READ_CHUNK);
	int rc = 0;
	for (;;) {
		ssize_t r = interrupt_read(fd, chunk, READ_CHUNK);
		if (r < 0 && errno == EINTR && !stage_interrupted)
			continue;
		if (stage_interrupted) {
			rc = err_set(E_IO, "interrupted by signal %d (a Job deadline, a deletion or "
					   "^C): the backup was abandoned and nothing looks complete",
				     (int)stage_interrupted);
			break;
		}
		if (r < 0) {
			rc = err_set(E_IO, "reading pg_dump's output: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if ((rc = stage_write(head, chunk, (size_t)r)))
			break;
	}
	free(chunk);
	return rc;
}

/* Archives --files into its own object through the same compression and
 * encryption as the dump; fills m->files once the object is visible. */
static int backup_files(struct manifest *m, struct store *st, const struct job_opts *o,
			const struct compress_spec *cs, const char *attempt)
{
	struct stage *head = NULL, *stored_hash, *plain_hash;
	char *leaf = artifact_files_leaf(compress_suffix(cs->algo), o->passphrase != NULL, attempt);
	char *key = artifact_key(o->namespace_, o->name, leaf);
	uint64_t count = 0;
	int rc;
	if ((rc = store_create(st, key, &head)))
		goto done;
	head = stored_hash = stage_hash_new(head);
	if (o->passphrase) {
		struct stage *enc = openpgp_encrypt_new(o->passphrase, o->passlen, 0, head);
		if (!enc) {
			rc = err_code();
			goto done;
		}
		head = enc;
	}
	head = async_new(head);
	head = compress_new(cs, o->zstd_workers, head);
	head = plain_hash = stage_hash_new(head);
	log_info("archiving the folder %s into %s", o->files, leaf);
	if ((rc = files_archive(&count, o->files, head)) || (rc = stage_finish(head))) {
		err_wrap("the files archive of backup %s/%s failed", o->namespace_, o->name);
		goto done;
	}
	m->files.key = xstrdup(leaf);
	m->files.size = stage_hash_size(stored_hash);
	stage_hash_hex(stored_hash, m->files.sha256);
	m->files.count = count;
	m->files.plaintext_size = stage_hash_size(plain_hash);
	stage_hash_hex(plain_hash, m->files.plaintext_sha256);
done:
	/* Freeing an unfinished writer aborts the upload and removes the part. */
	stage_free_chain(head);
	free(key);
	free(leaf);
	return rc;
}

int backup_run(const struct job_opts *o, struct json_object *result)
{
	struct compress_spec cs;
	struct pg_target target;
	struct pg_info info;
	struct manifest m;
	struct dumper dumper;
	struct store *st = NULL;
	struct stage *head = NULL, *stored_hash = NULL, *enc = NULL, *plain_hash = NULL;
	struct stage *split = NULL;
	char *dir = NULL, *leaf = NULL, *manifest_key = NULL, *location = NULL;
	int have_target = 0, have_info = 0, have_dumper = 0, rc = 0;
	char dump_version[32], attempt[ARTIFACT_ATTEMPT_LEN + 1];
	int dump_num = 0;
	struct buf text;
	time_t started = time(NULL);

	manifest_init(&m);
	buf_init(&text, MANIFEST_MAX_BYTES);
	if ((rc = artifact_check_name(o->name, "--name")) ||
	    (rc = artifact_check_namespace(o->namespace_, "--namespace")) ||
	    (rc = compress_parse(&cs, o->compression, "--compression")))
		goto done;
	if (strcmp(o->format, "custom") != 0 && strcmp(o->format, "plain") != 0) {
		rc = err_set(E_INVALID, "--format \"%s\" is not supported: use custom or plain", o->format);
		goto done;
	}
	if (!o->db || !*o->db) {
		rc = err_set(E_INVALID, "--db is required (or LIFEBOAT_DB): a PostgreSQL URI like "
					"postgresql://USER@HOST:5432/DBNAME");
		goto done;
	}
	if (o->files && (rc = files_check_source(o->files)))
		goto done;
	if ((rc = pg_target_parse(&target, o->db)))
		goto done;
	have_target = 1;
	if ((rc = store_open(&st, o->storage)))
		goto done;
	manifest_key = artifact_key(o->namespace_, o->name, ARTIFACT_MANIFEST);
	uint64_t existing = 0;
	rc = store_stat(st, manifest_key, &existing);
	if (rc == 0) {
		char *where = store_location(st, manifest_key);
		rc = err_set(E_EXISTS,
			     "backup %s/%s already exists (%s): backups are never overwritten; choose "
			     "another --name or run `lifeboat delete` first",
			     o->namespace_, o->name, where);
		free(where);
		goto done;
	}
	if (rc != E_NOTFOUND)
		goto done;

	log_info("pre-flight: connecting to %s", target.display);
	if ((rc = pg_preflight(&info, &target, o->schema_query)))
		goto done;
	have_info = 1;
	char *pg_dump = pg_tool_path("pg_dump");
	rc = pg_tool_version(&dump_num, dump_version, pg_dump);
	if (rc == E_NOTFOUND)
		rc = err_set(E_NOTFOUND,
			     "%s: pg_dump is needed to take a backup; install the PostgreSQL "
			     "client (postgresql-client-%d) or set LIFEBOAT_PG_BINDIR",
			     err_msg(), info.server_version_num / 10000);
	if (!rc)
		rc = pg_check_dump_version(dump_num, info.server_version_num, pg_dump);
	free(pg_dump);
	if (rc)
		goto done;
	log_info("server PostgreSQL %s, pg_dump %s, database %s: %llu bytes, %lld tables",
		 info.server_version, dump_version, target.dbname, (unsigned long long)info.size_bytes,
		 (long long)info.table_count);
	if (!o->passphrase)
		log_warn("no passphrase given: backup %s/%s will NOT be encrypted", o->namespace_,
			 o->name);

	struct store_limits lim;
	struct parts_plan plan;
	store_get_limits(st, &lim);
	const char *test_parts = getenv(jobenv_name(JOBENV_TEST_MAX_PARTS));
	if ((rc = parts_plan(&plan, &lim, info.size_bytes,
			     test_parts ? (uint32_t)strtoul(test_parts, NULL, 10) : 0)))
		goto done;
	char described[256];
	parts_plan_describe(described, sizeof(described), &plan, &lim);
	log_info("plan: %s", described);
	if ((rc = artifact_attempt_id(attempt)))
		goto done;
	leaf = artifact_dump_leaf(o->format, compress_suffix(cs.algo), o->passphrase != NULL,
				  attempt);
	log_info("attempt %s: writing %s", attempt, leaf);
	dir = artifact_key(o->namespace_, o->name, NULL);
	location = store_location(st, dir);
	/* Built back to front; head is always the chain's first stage. The
	 * attempt's objects have names of their own (job/artifact.h), and the
	 * manifest is created only if absent: of two runs of one backup at once
	 * (a lost pod still running) the first to create it wins, and the other
	 * removes what it wrote, never the winner's objects. */
	if ((rc = split_new(&split, st, dir, leaf, plan.object_limit)))
		goto done;
	head = stored_hash = stage_hash_new(split);
	if (o->passphrase) {
		enc = openpgp_encrypt_new(o->passphrase, o->passlen, 0, head);
		if (!enc) {
			rc = err_code();
			goto done;
		}
		head = enc;
	}
	/* Encryption, hashing and storage run on a worker thread, reading and
	 * compression on this one (zstd adds its own workers). */
	head = async_new(head);
	head = compress_new(&cs, o->zstd_workers, head);
	head = plain_hash = stage_hash_new(head);

	if ((rc = dumper_start(&dumper, o->format, &target)))
		goto done;
	have_dumper = 1;
	rc = pump(plain_hash, dumper.out);
	if (rc) {
		dumper_dispose(&dumper, 1);
		have_dumper = 0;
		goto done;
	}
	if ((rc = dumper_wait(&dumper)))
		goto done;
	/* Only now, with pg_dump's success known, does the object become visible. */
	if ((rc = stage_finish(plain_hash)))
		goto done;
	/* No manifest without the folder's archive: the dump alone would look
	 * like a complete backup. */
	if (o->files && (rc = backup_files(&m, st, o, &cs, attempt)))
		goto done;

	m.namespace_ = xstrdup(o->namespace_);
	m.name = xstrdup(o->name);
	m.tool_version = xstrdup(LIFEBOAT_VERSION);
	m.created_at = started;
	m.completed_at = time(NULL);
	m.format = xstrdup(o->format);
	m.compression = xstrdup(compress_name(cs.algo));
	m.compression_level = cs.level;
	for (size_t i = 0; i < split_count(split); i++) {
		const struct split_object *so = split_get(split, i);
		if ((rc = manifest_add_object(&m, so->leaf, so->size, so->sha256)))
			goto done;
	}
	stage_hash_hex(stored_hash, m.stream_sha256);
	stage_hash_hex(plain_hash, m.plaintext_sha256);
	m.plaintext_size = stage_hash_size(plain_hash);
	m.encrypted = o->passphrase != NULL;
	if (enc) {
		struct openpgp_info pi;
		openpgp_info_get(enc, &pi);
		m.cipher = xstrdup("AES256");
		m.s2k = xstrdup("iterated-salted-sha256");
		m.s2k_count = pi.s2k_count;
	}
	m.server_version = xstrdup(info.server_version);
	m.server_version_num = info.server_version_num;
	m.dump_version = xstrdup(dump_version);
	m.database = xstrdup(target.dbname);
	m.database_size = info.size_bytes;
	m.table_count = info.table_count;
	m.row_estimate = info.row_estimate;
	m.schema_version = info.schema_version ? xstrdup(info.schema_version) : NULL;
	if ((rc = manifest_to_json(&m, &text)) ||
	    (rc = store_put_new(st, manifest_key, text.ptr, text.len))) {
		if (rc == E_EXISTS)
			err_wrap("another run of backup %s/%s completed first; this run (attempt "
				 "%s) removed its own objects and left that backup as it is",
				 o->namespace_, o->name, attempt);
		/* Without its manifest the attempt's objects are orphans (never
		 * another attempt's: their names are this attempt's own); the
		 * split stage removes the dump's when the chain is freed. */
		if (m.files.key) {
			char *files_key = artifact_key(o->namespace_, o->name, m.files.key);
			store_remove(st, files_key);
			free(files_key);
		}
		goto done;
	}
	split_keep(split);
	result_add_manifest(result, &m, location);
	json_object_object_add(result, JOBRESULT_DURATION_SECONDS,
			       json_object_new_int64((int64_t)(m.completed_at - started)));
	log_info("backup %s/%s complete: %llu bytes stored in %zu object%s (%llu before "
		 "compression), sha256 %s",
		 o->namespace_, o->name, (unsigned long long)manifest_stored_size(&m), m.nobjects,
		 m.nobjects == 1 ? "" : "s", (unsigned long long)m.plaintext_size,
		 manifest_stream_sha256(&m));
	if (m.files.key)
		log_info("files archive %s: %llu entries, %llu bytes stored, sha256 %s", m.files.key,
			 (unsigned long long)m.files.count, (unsigned long long)m.files.size,
			 m.files.sha256);
done:
	if (have_dumper)
		dumper_dispose(&dumper, rc != 0);
	/* Freeing an unfinished writer aborts the upload and removes the part. */
	stage_free_chain(head);
	if (have_info)
		pg_info_dispose(&info);
	if (have_target)
		pg_target_dispose(&target);
	manifest_dispose(&m);
	buf_dispose(&text);
	free(dir);
	free(leaf);
	free(manifest_key);
	free(location);
	store_free(st);
	return rc;
}
