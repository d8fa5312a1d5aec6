/* `lifeboat backup`: pre-flight, pg_dump, then the streaming chain
 * hash -> compress -> encrypt -> hash -> store; with --files the folder's
 * tar stream through the same chain into its own object; the manifest last.
 * The decisions are job/cmd/backup_plan.c's; this file does what they say. */
#include "job/cmd/job.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "common/err.h"
#include "common/jobenv.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"
#include "job/pipeline/async.h"
#include "job/cmd/backup_plan.h"
#include "job/pipeline/compress.h"
#include "job/pipeline/files.h"
#include "job/pipeline/interrupt.h"
#include "job/model/manifest.h"
#include "job/pipeline/openpgp.h"
#include "job/db/pg.h"
#include "job/pipeline/proc.h"
#include "job/pipeline/parts_plan.h"
#include "job/cmd/result.h"
#include "job/pipeline/split.h"
#include "job/store/store.h"

#define READ_CHUNK (1024 * 1024)
/* pg_dump writes a few KiB at a time: read at least this much per wake-up
 * (a quarter of its 1 MiB pipe; measured: docs/performance.md). */
#define READ_BATCH (256 * 1024)

/* The processes producing the dump: pg_dump, and for plain format a
 * pg_restore turning the archive into one BEGIN..COMMIT script. Zero-safe:
 * a dumper holding no process may be waited for and disposed. */
struct dumper {
	struct proc dump;
	struct proc script;
	int out; /* what we read */
};

static void dumper_init(struct dumper *d)
{
	proc_init(&d->dump);
	proc_init(&d->script);
	d->out = -1;
}

static int dumper_start(struct dumper *d, const struct backup_plan *p, const struct pg_target *t)
{
	char *pg_dump = pg_tool_path("pg_dump"), *pg_restore = pg_tool_path("pg_restore");
	const char *dump_argv[] = {pg_dump, "--format=custom", "--compress=0", "--no-password",
				   NULL};
	const char *script_argv[] = {pg_restore, "--file=-", "--single-transaction", NULL};
	int rc;
	if ((rc = proc_start(&d->dump, dump_argv, (const char *const *)t->env, PROC_PIPE_STDOUT,
			     -1)))
		goto done;
	d->out = d->dump.out;
	if (p->script) {
		rc = proc_start(&d->script, script_argv, NULL, PROC_PIPE_STDOUT, d->dump.out);
		/* pg_restore has its own copy now; ours would hide its EOF. */
		close(d->dump.out);
		d->dump.out = -1;
		d->out = rc ? -1 : d->script.out;
	}
done:
	free(pg_dump);
	free(pg_restore);
	return rc;
}

/* Waits for every process; the first failure wins, named. A process never
 * started waits as a success. */
static int dumper_wait(struct dumper *d)
{
	char first[1024] = "";
	int rc = proc_wait(&d->dump);
	if (rc)
		snprintf(first, sizeof(first), "%s", err_msg());
	int rc2 = proc_wait(&d->script);
	if (rc2 && !rc) {
		rc = rc2;
		snprintf(first, sizeof(first), "pg_restore (plain-format conversion) failed: %s",
			 err_msg());
	}
	return rc ? err_set(E_DB, "%s", first) : 0;
}

static void dumper_dispose(struct dumper *d, int kill_them)
{
	if (kill_them) {
		proc_kill(&d->script);
		proc_kill(&d->dump);
	}
	proc_dispose(&d->script);
	proc_dispose(&d->dump);
	d->out = -1;
}

/* Reads fd to its end into head. When the stages before the thread
 * boundary pass bytes on unchanged (no compression: a hash), pg_dump's
 * output is read straight into the boundary's buffer (async_space). */
static int pump(struct stage *head, struct stage *lender, int fd)
{
	uint8_t *chunk = lender ? NULL : xmalloc(READ_CHUNK);
	int rc = 0;
	for (;;) {
		size_t room = READ_CHUNK;
		uint8_t *into = lender ? async_space(lender, &room) : chunk;
		ssize_t r =
		    interrupt_read_batch(fd, into, room, room < READ_BATCH ? room : READ_BATCH);
		if (r < 0 && errno == EINTR && !stage_interrupted)
			continue;
		if (stage_interrupted) {
			int sig = atomic_load(&stage_interrupted);
			rc = err_set(E_IO,
				     "interrupted by signal %d (%s): the backup was abandoned and "
				     "nothing looks complete",
				     sig, interrupt_cause(sig));
			break;
		}
		if (r < 0) {
			rc = err_set(E_IO, "reading pg_dump's output: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if ((rc = stage_write(head, into, (size_t)r)))
			break;
	}
	free(chunk);
	return rc;
}

/* One stream's write chain, built back to front onto sink: plain_hash ->
 * compress -> async -> [encrypt] -> [stored_hash] -> sink. head owns every
 * stage (sink included, once built); the others are borrowed. */
struct chain {
	struct stage *head;
	struct stage *stored_hash, *enc, *plain_hash, *comp;
	struct stage *lender; /* the async stage, when plain_hash writes to it */
};

/* Builds the plan's stages onto sink. A sink that hashes the stream itself
 * (split: sink_hashes) gets no stored_hash before it: each byte is hashed
 * once. On failure c->head still owns what was built (sink included): free
 * it with stage_free_chain. */
static int chain_build(struct chain *c, const struct backup_plan *p, const struct job_opts *o,
		       struct stage *sink, int sink_hashes)
{
	memset(c, 0, sizeof(*c));
	c->head = sink;
	if (!sink_hashes)
		c->head = c->stored_hash = stage_hash_new(sink);
	if (p->encrypt) {
		if (!(c->enc = openpgp_encrypt_new(o->passphrase, o->passlen, 0, c->head)))
			return err_code();
		c->head = c->enc;
	}
	/* Encryption, hashing and storage run on a worker thread, reading and
	 * compression on this one (zstd adds its own workers). */
	c->head = async_new(c->head);
	int workers = o->zstd_workers >= 0 ? o->zstd_workers : compress_workers(&p->cs, o->cpus);
	struct stage *after = c->head;
	c->head = compress_new(&p->cs, workers, c->head);
	c->comp = c->head == after ? NULL : c->head;
	c->lender = c->comp ? NULL : after;
	c->head = c->plain_hash = stage_hash_new(c->head);
	return 0;
}

/* Archives --files into its own object through the same compression and
 * encryption as the dump; fills m->files once the object is visible. */
static int backup_files(struct manifest *m, struct store *st, const struct job_opts *o,
			const struct backup_plan *p, const char *attempt)
{
	struct chain c = {0};
	struct stage *writer = NULL;
	char *leaf = artifact_files_leaf(compress_suffix(p->cs.algo), p->encrypt, attempt);
	char *key = artifact_key(o->namespace_, o->name, leaf);
	uint64_t count = 0;
	int rc;
	if ((rc = store_create(st, key, &writer)))
		goto done;
	rc = chain_build(&c, p, o, writer, 0);
	writer = NULL;
	if (rc)
		goto done;
	log_info("archiving the folder %s into %s", o->files, leaf);
	if ((rc = files_archive(&count, o->files, c.head)) || (rc = stage_finish(c.head))) {
		err_wrap("the files archive of backup %s/%s failed", o->namespace_, o->name);
		goto done;
	}
	m->files.key = xstrdup(leaf);
	m->files.size = stage_hash_size(c.stored_hash);
	stage_hash_hex(c.stored_hash, m->files.sha256);
	m->files.count = count;
	m->files.plaintext_size = stage_hash_size(c.plain_hash);
	stage_hash_hex(c.plain_hash, m->files.plaintext_sha256);
done:
	/* Freeing an unfinished writer aborts the upload and removes the part. */
	stage_free_chain(writer);
	stage_free_chain(c.head);
	free(key);
	free(leaf);
	return rc;
}

/* One backup's state, zero-safe from backup_init on: backup_dispose
 * releases whatever was set, whatever step failed. */
struct backup {
	const struct job_opts *o;
	struct backup_plan plan;
	time_t started;
	struct pg_target target;
	struct pg_info info;
	struct store *st;
	struct manifest m;
	struct dumper dumper;
	struct chain dump;
	struct stage *split; /* borrowed: the dump chain's sink */
	char *dir, *leaf, *manifest_key, *location;
	char dump_version[32], attempt[ARTIFACT_ATTEMPT_LEN + 1];
	struct buf text;
};

static void backup_init(struct backup *b, const struct job_opts *o)
{
	memset(b, 0, sizeof(*b));
	b->o = o;
	b->started = time(NULL);
	manifest_init(&b->m);
	dumper_init(&b->dumper);
	buf_init(&b->text, MANIFEST_MAX_BYTES);
}

static void backup_dispose(struct backup *b, int failed)
{
	dumper_dispose(&b->dumper, failed);
	/* Freeing an unfinished writer aborts the upload and removes the part. */
	stage_free_chain(b->dump.head);
	pg_info_dispose(&b->info);
	pg_target_dispose(&b->target);
	manifest_dispose(&b->m);
	buf_dispose(&b->text);
	free(b->dir);
	free(b->leaf);
	free(b->manifest_key);
	free(b->location);
	store_free(b->st);
}

/* The folder, the target and the storage, where no backup of the name may
 * exist yet. */
static int backup_open(struct backup *b)
{
	const struct job_opts *o = b->o;
	uint64_t existing = 0;
	int rc;
	if ((o->files && (rc = files_check_source(o->files))) ||
	    (rc = pg_target_parse(&b->target, o->db)) || (rc = store_open(&b->st, o->storage)))
		return rc;
	b->manifest_key = artifact_key(o->namespace_, o->name, ARTIFACT_MANIFEST);
	rc = store_stat(b->st, b->manifest_key, &existing);
	if (rc == 0) {
		char *where = store_location(b->st, b->manifest_key);
		rc = err_set(
		    E_EXISTS,
		    "backup %s/%s already exists (%s): backups are never overwritten; choose "
		    "another --name or run `lifeboat delete` first",
		    o->namespace_, o->name, where);
		free(where);
		return rc;
	}
	return rc == E_NOTFOUND ? 0 : rc;
}

/* The server and pg_dump: reachable, and versions that fit. */
static int backup_preflight(struct backup *b)
{
	int dump_num = 0, rc;
	log_info("pre-flight: connecting to %s", b->target.display);
	if ((rc = pg_preflight(&b->info, &b->target, b->o->schema_query)))
		return rc;
	char *pg_dump = pg_tool_path("pg_dump");
	rc = pg_tool_version(&dump_num, b->dump_version, pg_dump);
	if (rc == E_NOTFOUND)
		rc = err_set(E_NOTFOUND,
			     "%s: pg_dump is needed to take a backup; install the PostgreSQL "
			     "client (postgresql-client-%d) or set LIFEBOAT_PG_BINDIR",
			     err_msg(), b->info.server_version_num / 10000);
	if (!rc)
		rc = pg_check_dump_version(dump_num, b->info.server_version_num, pg_dump);
	free(pg_dump);
	if (rc)
		return rc;
	log_info("server PostgreSQL %s, pg_dump %s, database %s: %llu bytes, %lld tables",
		 b->info.server_version, b->dump_version, b->target.dbname,
		 (unsigned long long)b->info.size_bytes, (long long)b->info.table_count);
	if (!b->plan.encrypt)
		log_warn("no passphrase given: backup %s/%s will NOT be encrypted",
			 b->o->namespace_, b->o->name);
	return 0;
}

/* The parts plan, the attempt's names and the dump's chain, unstarted. */
static int backup_build(struct backup *b)
{
	const struct job_opts *o = b->o;
	struct store_limits lim;
	char described[256];
	int rc;
	store_get_limits(b->st, &lim);
	if ((rc = backup_plan_parts(&b->plan, &lim, b->info.size_bytes,
				    getenv(jobenv_name(JOBENV_TEST_MAX_PARTS)))))
		return rc;
	parts_plan_describe(described, sizeof(described), &b->plan.parts, &lim);
	log_info("plan: %s", described);
	if (b->plan.files) {
		/* The folder's archive is one object: it must fit in one. */
		uint64_t bytes = 0, entries = 0;
		if ((rc = files_measure(&bytes, &entries, o->files)))
			return rc;
		log_info("pre-flight: the folder %s: %llu entries, %llu bytes of tar", o->files,
			 (unsigned long long)entries, (unsigned long long)bytes);
		if ((rc = parts_plan_fits_one(&b->plan.parts, &lim, bytes, "--files")))
			return rc;
	}
	if ((rc = artifact_attempt_id(b->attempt)))
		return rc;
	b->leaf = artifact_dump_leaf(b->plan.format, compress_suffix(b->plan.cs.algo),
				     b->plan.encrypt, b->attempt);
	log_info("attempt %s: writing %s", b->attempt, b->leaf);
	b->dir = artifact_key(o->namespace_, o->name, NULL);
	b->location = store_location(b->st, b->dir);
	/* The attempt's objects have names of their own (job/model/artifact.h), and
	 * the manifest is created only if absent: of two runs of one backup at
	 * once (a lost pod still running) the first to create it wins, and the
	 * other removes what it wrote, never the winner's objects. */
	if ((rc = split_new(&b->split, b->st, b->dir, b->leaf, b->plan.parts.object_limit)))
		return rc;
	return chain_build(&b->dump, &b->plan, o, b->split, 1);
}

/* pg_dump through the chain; the dump's objects become visible only once
 * every process succeeded. Then the folder's archive, if asked for: no
 * manifest without it, or the dump alone would look like a complete backup. */
static int backup_stream(struct backup *b)
{
	int rc;
	if ((rc = dumper_start(&b->dumper, &b->plan, &b->target)) ||
	    (rc = pump(b->dump.plain_hash, b->dump.lender, b->dumper.out)) ||
	    (rc = dumper_wait(&b->dumper)) || (rc = stage_finish(b->dump.plain_hash)))
		return rc;
	if (b->plan.files)
		return backup_files(&b->m, b->st, b->o, &b->plan, b->attempt);
	return 0;
}

static int backup_fill_manifest(struct backup *b)
{
	struct manifest *m = &b->m;
	int rc;
	m->namespace_ = xstrdup(b->o->namespace_);
	m->name = xstrdup(b->o->name);
	m->tool_version = xstrdup(LIFEBOAT_VERSION);
	m->created_at = b->started;
	m->completed_at = time(NULL);
	m->format = xstrdup(b->plan.format);
	m->compression = xstrdup(compress_name(b->plan.cs.algo));
	struct compress_use use;
	compress_used(b->dump.comp, &b->plan.cs, &use);
	m->compression_level = use.level;
	m->compression_auto = use.adaptive;
	m->compression_lo = use.lo;
	m->compression_hi = use.hi;
	for (size_t i = 0; i < use.nlevels && i < MANIFEST_MAX_LEVELS; i++) {
		m->compression_levels[i].level = use.levels[i].level;
		m->compression_levels[i].bytes = use.levels[i].bytes;
	}
	m->compression_nlevels =
	    use.nlevels < MANIFEST_MAX_LEVELS ? use.nlevels : MANIFEST_MAX_LEVELS;
	for (size_t i = 0; i < split_count(b->split); i++) {
		const struct split_object *so = split_get(b->split, i);
		if ((rc = manifest_add_object(m, so->leaf, so->size, so->sha256)))
			return rc;
	}
	split_stream_hex(b->split, m->stream_sha256);
	stage_hash_hex(b->dump.plain_hash, m->plaintext_sha256);
	m->plaintext_size = stage_hash_size(b->dump.plain_hash);
	m->encrypted = b->plan.encrypt;
	if (b->dump.enc) {
		struct openpgp_info pi;
		openpgp_info_get(b->dump.enc, &pi);
		m->cipher = xstrdup("AES256");
		m->s2k = xstrdup("iterated-salted-sha256");
		m->s2k_count = pi.s2k_count;
	}
	m->server_version = xstrdup(b->info.server_version);
	m->server_version_num = b->info.server_version_num;
	m->dump_version = xstrdup(b->dump_version);
	m->database = xstrdup(b->target.dbname);
	m->database_size = b->info.size_bytes;
	m->table_count = b->info.table_count;
	m->row_estimate = b->info.row_estimate;
	m->schema_version = b->info.schema_version ? xstrdup(b->info.schema_version) : NULL;
	return 0;
}

/* Creates the manifest, the backup's commit point, or removes this
 * attempt's objects. */
static int backup_commit(struct backup *b)
{
	const struct job_opts *o = b->o;
	int rc;
	if ((rc = manifest_to_json(&b->m, &b->text)) ||
	    (rc = store_put_new(b->st, b->manifest_key, b->text.ptr, b->text.len))) {
		if (rc == E_EXISTS)
			err_wrap("another run of backup %s/%s completed first; this run (attempt "
				 "%s) removed its own objects and left that backup as it is",
				 o->namespace_, o->name, b->attempt);
		/* Without its manifest the attempt's objects are orphans (never
		 * another attempt's: their names are this attempt's own); the
		 * split stage removes the dump's when the chain is freed. */
		if (b->m.files.key) {
			char *files_key = artifact_key(o->namespace_, o->name, b->m.files.key);
			store_remove(b->st, files_key);
			free(files_key);
		}
		return rc;
	}
	split_keep(b->split);
	return 0;
}

static void backup_report(const struct backup *b, struct json_object *result)
{
	const struct manifest *m = &b->m;
	result_add_manifest(result, m, b->location);
	json_object_object_add(result, JOBRESULT_DURATION_SECONDS,
			       json_object_new_int64((int64_t)(m->completed_at - b->started)));
	log_info("backup %s/%s complete: %llu bytes stored in %zu object%s (%llu before "
		 "compression), sha256 %s",
		 b->o->namespace_, b->o->name, (unsigned long long)manifest_stored_size(m),
		 m->nobjects, m->nobjects == 1 ? "" : "s", (unsigned long long)m->plaintext_size,
		 manifest_stream_sha256(m));
	if (m->files.key)
		log_info("files archive %s: %llu entries, %llu bytes stored, sha256 %s",
			 m->files.key, (unsigned long long)m->files.count,
			 (unsigned long long)m->files.size, m->files.sha256);
}

int backup_run(const struct job_opts *o, struct json_object *result)
{
	struct backup b;
	int rc;
	backup_init(&b, o);
	if (!(rc = backup_plan(&b.plan, o)) && !(rc = backup_open(&b)) &&
	    !(rc = backup_preflight(&b)) && !(rc = backup_build(&b)) && !(rc = backup_stream(&b)) &&
	    !(rc = backup_fill_manifest(&b)) && !(rc = backup_commit(&b)))
		backup_report(&b, result);
	backup_dispose(&b, rc != 0);
	return rc;
}
