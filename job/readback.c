/* The verify/restore read chain and its verdicts. */
#include "readback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/xmalloc.h"
#include "artifact.h"
#include "compress.h"
#include "openpgp.h"
#include "store.h"

/* After the first downstream error, swallows the rest so hashing goes on. */
struct fuse {
	struct stage base;
	int code;
	char msg[2048];
};

static void trip(struct fuse *f, int code)
{
	if (!f->code) {
		f->code = code;
		snprintf(f->msg, sizeof(f->msg), "%s", err_msg());
	}
}

static int fuse_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct fuse *f = (struct fuse *)s;
	if (f->code)
		return 0;
	int rc = stage_write(s->next, p, n);
	if (rc)
		trip(f, rc);
	return 0;
}

static int fuse_finish(struct stage *s)
{
	struct fuse *f = (struct fuse *)s;
	if (f->code)
		return 0;
	int rc = stage_finish_next(s);
	if (rc)
		trip(f, rc);
	return 0;
}

static void fuse_free(struct stage *s)
{
	free(s);
}

static const struct stage_ops fuse_ops = {"fuse", fuse_write, fuse_finish, fuse_free};

int readback_init(struct readback *rb, const struct manifest *m, const char *pass, size_t passlen,
		  struct stage *sink)
{
	enum compress_algo algo;
	memset(rb, 0, sizeof(*rb));
	int rc = compress_algo_from_name(&algo, m->compression);
	if (rc) {
		stage_free_chain(sink);
		return err_set(E_UNSUPPORTED,
			       "backup %s/%s: its manifest names compression \"%s\", unknown to "
			       "lifeboat %s; use a newer lifeboat",
			       m->namespace_, m->name, m->compression, LIFEBOAT_VERSION);
	}
	if (m->encrypted && !pass) {
		stage_free_chain(sink);
		return err_set(E_INVALID, "backup %s/%s is encrypted: give --passphrase-file or "
					  "LIFEBOAT_PASSPHRASE",
			       m->namespace_, m->name);
	}
	struct stage *head = rb->plain_hash = stage_hash_new(sink);
	head = decompress_new(algo, head);
	if (m->encrypted) {
		struct stage *dec = openpgp_decrypt_new(pass, passlen, head);
		if (!dec) {
			rc = err_code();
			stage_free_chain(head);
			memset(rb, 0, sizeof(*rb));
			return rc;
		}
		head = dec;
	}
	struct fuse *f = xcalloc(1, sizeof(*f));
	f->base.ops = &fuse_ops;
	f->base.next = head;
	rb->fuse = &f->base;
	rb->head = rb->stored_hash = stage_hash_new(rb->fuse);
	return 0;
}

/* What one read is judged against. */
struct expect {
	const char *key;
	uint64_t size;
	const char *sha256;
	uint64_t plaintext_size;
	const char *plaintext_sha256;
	const char *what; /* "dump", "files archive" */
};

static int run_object(struct readback *rb, struct store *st, const struct expect *x,
		      const char *ns, const char *name)
{
	char *key = artifact_key(ns, name, x->key);
	char *where = store_location(st, key);
	uint64_t size = 0;
	char got[65];
	struct fuse *f = (struct fuse *)rb->fuse;
	int rc = store_stat(st, key, &size);
	if (rc == E_NOTFOUND) {
		rc = err_set(E_INTEGRITY,
			     "%s is listed in the manifest but missing from storage: the backup is "
			     "incomplete; restore another backup",
			     where);
		goto done;
	}
	if (rc)
		goto done;
	if (size != x->size) {
		rc = err_set(E_INTEGRITY,
			     "size mismatch for %s: the manifest says %llu bytes, storage holds %llu; "
			     "the object is truncated or was replaced; restore another backup",
			     where, (unsigned long long)x->size, (unsigned long long)size);
		goto done;
	}
	if ((rc = store_read(st, key, rb->head)))
		goto done;
	stage_finish(rb->head);
	stage_hash_hex(rb->stored_hash, got);
	if (stage_hash_size(rb->stored_hash) != x->size || strcmp(got, x->sha256) != 0) {
		rc = err_set(E_INTEGRITY,
			     "checksum mismatch for %s: expected sha256 %.12s.., got %.12s..; the "
			     "object is corrupt or was replaced; restore another backup",
			     where, x->sha256, got);
		goto done;
	}
	if (f->code) {
		rc = err_set(f->code, "%s: %s", where, f->msg);
		goto done;
	}
	stage_hash_hex(rb->plain_hash, got);
	if (stage_hash_size(rb->plain_hash) != x->plaintext_size ||
	    strcmp(got, x->plaintext_sha256) != 0) {
		rc = err_set(E_INTEGRITY,
			     "the %s read from %s has sha256 %.12s.., but the manifest says %.12s..: "
			     "the manifest does not belong to this object; restore another backup",
			     x->what, where, got, x->plaintext_sha256);
		goto done;
	}
done:
	free(key);
	free(where);
	return rc;
}

int readback_run(struct readback *rb, struct store *st, const struct manifest *m, const char *ns,
		 const char *name)
{
	const struct expect x = {m->objects[0].key, m->objects[0].size, m->objects[0].sha256,
				 m->plaintext_size, m->plaintext_sha256, "dump"};
	return run_object(rb, st, &x, ns, name);
}

int readback_run_files(struct readback *rb, struct store *st, const struct manifest *m,
		       const char *ns, const char *name)
{
	const struct manifest_files *f = &m->files;
	const struct expect x = {f->key, f->size, f->sha256, f->plaintext_size, f->plaintext_sha256,
				 "files archive"};
	return run_object(rb, st, &x, ns, name);
}

void readback_dispose(struct readback *rb)
{
	stage_free_chain(rb->head);
	memset(rb, 0, sizeof(*rb));
}
