/* `lifeboat download`: streams a stored backup to a file or stdout, through
 * the same read chain and checks as verify (job/pipeline/readback.c), or with --raw
 * the stored bytes as they are, checked against the manifest's size and
 * SHA-256. A file is written under a temporary name and renamed only after
 * every check passed. */
#include "job/cmd/job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"
#include "job/pipeline/readback.h"
#include "job/cmd/result.h"
#include "job/store/store.h"

/* One output: stdout ("-") or a target file written as target.partial-XXXXXX
 * beside it. Zero-initialised means "nothing open". */
struct output {
	const char *target; /* borrowed; NULL for stdout */
	const char *flag;   /* "--out", "--files-out" */
	char *tmp;
	int fd;
};

static int output_open(struct output *out, const char *path, const char *flag, int force)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->flag = flag;
	if (!strcmp(path, "-")) {
		out->fd = STDOUT_FILENO;
		return 0;
	}
	struct stat sb;
	if (!force && lstat(path, &sb) == 0)
		return err_set(E_EXISTS,
			       "%s %s: the file already exists; remove it, choose another name or "
			       "give --force to replace it",
			       flag, path);
	out->target = path;
	out->tmp = xasprintf("%s.partial-XXXXXX", path);
	/* mkstemp: O_CREAT | O_EXCL, mode 0600. */
	out->fd = mkstemp(out->tmp);
	if (out->fd < 0) {
		int rc = err_set(E_IO,
				 "%s %s: cannot create a temporary file beside it: %s; check "
				 "that the folder exists and is writable",
				 flag, path, strerror(errno));
		free(out->tmp);
		out->tmp = NULL;
		return rc;
	}
	return 0;
}

/* Makes the file visible under its name: fsync, then link (no --force: never
 * replaces a file that appeared meanwhile) or rename (--force). */
static int output_commit(struct output *out, int force)
{
	if (!out->tmp)
		return 0;
	int rc = 0;
	if (fsync(out->fd) != 0 || close(out->fd) != 0) {
		out->fd = -1;
		return err_set(E_IO, "%s %s: writing the file failed: %s; check the free space",
			       out->flag, out->target, strerror(errno));
	}
	out->fd = -1;
	if (force) {
		if (rename(out->tmp, out->target) != 0)
			rc = err_set(E_IO, "%s %s: cannot rename the finished file into place: %s",
				     out->flag, out->target, strerror(errno));
	} else if (link(out->tmp, out->target) != 0) {
		rc = errno == EEXIST
			 ? err_set(
			       E_EXISTS,
			       "%s %s: the file already exists; remove it, choose another name or "
			       "give --force to replace it",
			       out->flag, out->target)
			 : err_set(E_IO, "%s %s: cannot rename the finished file into place: %s",
				   out->flag, out->target, strerror(errno));
	}
	if (!rc || !force)
		unlink(out->tmp);
	if (!rc) {
		free(out->tmp);
		out->tmp = NULL;
	}
	return rc;
}

/* Removes an unfinished file; does nothing for stdout or after a commit. */
static void output_dispose(struct output *out)
{
	if (out->tmp) {
		if (out->fd >= 0)
			close(out->fd);
		unlink(out->tmp);
		free(out->tmp);
	}
	memset(out, 0, sizeof(*out));
	out->fd = -1;
}

/* --raw: the stored bytes, checked against the manifest's size and SHA-256. */
static int raw_object(struct store *st, const struct job_opts *o, const char *leaf,
		      uint64_t want_size, const char *want_sha, int fd)
{
	char *key = artifact_key(o->namespace_, o->name, leaf);
	char *where = store_location(st, key);
	struct stage *hash = stage_hash_new(stage_fd_new(fd, "the download output"));
	uint64_t size = 0;
	char got[65];
	int rc = store_stat(st, key, &size);
	if (rc == E_NOTFOUND)
		rc = err_set(E_INTEGRITY,
			     "%s is listed in the manifest but missing from storage: the backup is "
			     "incomplete; restore another backup",
			     where);
	if (rc)
		goto done;
	if ((rc = store_read(st, key, hash)) || (rc = stage_finish(hash)))
		goto done;
	stage_hash_hex(hash, got);
	if (stage_hash_size(hash) != want_size || strcmp(got, want_sha) != 0)
		rc = err_set(E_INTEGRITY,
			     "checksum mismatch for %s: expected sha256 %.12s.., got %.12s..; the "
			     "object is corrupt or was replaced; restore another backup",
			     where, want_sha, got);
done:
	stage_free_chain(hash);
	free(key);
	free(where);
	return rc;
}

/* One object (the dump, or the files archive) into out. */
static int fetch(const struct job_opts *o, struct store *st, const struct manifest *m, int files,
		 int fd)
{
	if (o->raw && files)
		return raw_object(st, o, m->files.key, m->files.size, m->files.sha256, fd);
	if (o->raw) {
		/* A dump of several objects: their concatenation, each checked. */
		int rc = 0;
		for (size_t i = 0; i < m->nobjects && !rc; i++)
			rc = raw_object(st, o, m->objects[i].key, m->objects[i].size,
					m->objects[i].sha256, fd);
		return rc;
	}
	struct readback rb;
	int rc = readback_init(&rb, m, o->passphrase, o->passlen,
			       stage_fd_new(fd, "the download output"));
	if (rc)
		return rc;
	rc = files ? readback_run_files(&rb, st, m, o->namespace_, o->name)
		   : readback_run(&rb, st, m, o->namespace_, o->name);
	readback_dispose(&rb);
	return rc;
}

int download_run(const struct job_opts *o, struct json_object *result)
{
	struct manifest m;
	struct store *st = NULL;
	struct output dump, files;
	int rc;
	char *dir = NULL, *location = NULL;

	manifest_init(&m); /* zero-safe: disposed whatever step failed */
	memset(&dump, 0, sizeof(dump));
	memset(&files, 0, sizeof(files));
	dump.fd = files.fd = -1;
	if (!o->out || !*o->out) {
		rc =
		    err_set(E_INVALID, "download: --out is required: a file name, or - for stdout");
		goto done;
	}
	if (o->files_out && !strcmp(o->files_out, "-") && !strcmp(o->out, "-")) {
		rc =
		    err_set(E_INVALID, "download: --out and --files-out cannot both be stdout (-); "
				       "give --files-out a file name");
		goto done;
	}
	if ((rc = artifact_check_name(o->name, "--name")) ||
	    (rc = artifact_check_namespace(o->namespace_, "--namespace")) ||
	    (rc = store_open(&st, o->storage)) ||
	    (rc = artifact_load_manifest(&m, st, o->namespace_, o->name)))
		goto done;
	dir = artifact_key(o->namespace_, o->name, NULL);
	location = store_location(st, dir);
	if (o->files_out && !m.files.key) {
		rc = err_set(E_INVALID,
			     "download: --files-out given, but backup %s has no files "
			     "archive; leave --files-out out",
			     location);
		goto done;
	}
	if (m.encrypted && !o->raw && !o->passphrase) {
		rc = err_set(E_INVALID,
			     "backup %s is encrypted: give --passphrase-file or "
			     "LIFEBOAT_PASSPHRASE (or --raw for the stored bytes)",
			     location);
		goto done;
	}
	if ((rc = output_open(&dump, o->out, "--out", o->force)))
		goto done;
	if (o->files_out && (rc = output_open(&files, o->files_out, "--files-out", o->force)))
		goto done;
	if ((rc = fetch(o, st, &m, 0, dump.fd)))
		goto done;
	if (o->files_out && (rc = fetch(o, st, &m, 1, files.fd)))
		goto done;
	/* Both outputs checked: only now do they get their names. */
	if ((rc = output_commit(&dump, o->force)))
		goto done;
	if ((rc = output_commit(&files, o->force))) {
		/* Neither or both: the dump's name goes too. */
		if (dump.target)
			unlink(dump.target);
		goto done;
	}
	result_add_manifest(result, &m, location);
	log_info("backup %s/%s downloaded%s to %s", o->namespace_, o->name, o->raw ? " (raw)" : "",
		 strcmp(o->out, "-") ? o->out : "stdout");
done:
	output_dispose(&dump);
	output_dispose(&files);
	manifest_dispose(&m);
	free(dir);
	free(location);
	store_free(st);
	return rc;
}
