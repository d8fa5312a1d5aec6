/* The verify/restore read chain and its verdicts. */
#include "job/pipeline/readback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"
#include "job/pipeline/compress.h"
#include "job/pipeline/openpgp.h"
#include "job/store/store.h"

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
		return err_set(E_INVALID,
			       "backup %s/%s is encrypted: give --passphrase-file or "
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

/* One stored object of a read. */
struct expect_obj {
	const char *key;
	uint64_t size;
	const char *sha256;
};

/* What one read is judged against: the stream stored as objs[0..n), read in
 * that order through one chain. */
struct expect {
	const struct expect_obj *objs;
	size_t n;
	const char *stream_sha256; /* of the concatenation */
	uint64_t plaintext_size;
	const char *plaintext_sha256;
	const char *what; /* "dump", "files archive" */
};

/* Every object there, at its size, before a byte is read. */
static int check_present(struct store *st, const struct expect_obj *o, const char *ns,
			 const char *name)
{
	char *key = artifact_key(ns, name, o->key);
	char *where = store_location(st, key);
	uint64_t size = 0;
	int rc = store_stat(st, key, &size);
	if (rc == E_NOTFOUND)
		rc = err_set(E_INTEGRITY,
			     "%s is listed in the manifest but missing from storage: the backup is "
			     "incomplete; restore another backup",
			     where);
	else if (!rc && size != o->size)
		rc = err_set(
		    E_INTEGRITY,
		    "size mismatch for %s: the manifest says %llu bytes, storage holds %llu; "
		    "the object is truncated or was replaced; restore another backup",
		    where, (unsigned long long)o->size, (unsigned long long)size);
	free(key);
	free(where);
	return rc;
}

/* Streams object i into the chain through a hash of its own: a corrupt
 * object is named, and reported as a checksum mismatch (E_INTEGRITY) even
 * when decryption failed first. The first object's hash is the stream's so
 * far (its first bytes are the stream's): a backup of one object is hashed
 * once. */
static int read_one(struct readback *rb, struct store *st, const struct expect_obj *o, size_t i,
		    const char *ns, const char *name)
{
	char *key = artifact_key(ns, name, o->key);
	char *where = store_location(st, key);
	struct stage *h = i == 0 ? NULL : stage_hash_new(rb->head);
	char got[65];
	int rc = store_read(st, key, h ? h : rb->head);
	if (!rc)
		rc = h ? stage_hash_end(h) : stage_hash_peek(rb->stored_hash, got);
	if (!rc) {
		if (h)
			stage_hash_hex(h, got);
		uint64_t size = stage_hash_size(h ? h : rb->stored_hash);
		if (size != o->size || strcmp(got, o->sha256) != 0)
			rc = err_set(
			    E_INTEGRITY,
			    "checksum mismatch for %s: expected sha256 %.12s.., got %.12s..; "
			    "the object is corrupt or was replaced; restore another backup",
			    where, o->sha256, got);
	}
	if (h) {
		h->next = NULL; /* the chain is the readback's */
		stage_free_chain(h);
	}
	free(key);
	free(where);
	return rc;
}

static int run_objects(struct readback *rb, struct store *st, const struct expect *x,
		       const char *ns, const char *name)
{
	char *dir = artifact_key(ns, name, NULL);
	char *where = store_location(st, dir);
	char got[65];
	struct fuse *f = (struct fuse *)rb->fuse;
	int rc = 0;
	for (size_t i = 0; i < x->n && !rc; i++)
		rc = check_present(st, &x->objs[i], ns, name);
	for (size_t i = 0; i < x->n && !rc; i++)
		rc = read_one(rb, st, &x->objs[i], i, ns, name);
	if (rc)
		goto done;
	stage_finish(rb->head);
	stage_hash_hex(rb->stored_hash, got);
	if (x->n > 1 && strcmp(got, x->stream_sha256) != 0) {
		rc = err_set(
		    E_INTEGRITY,
		    "the %zu objects of the %s in %s, concatenated, have sha256 %.12s.., but "
		    "the manifest says %.12s..; restore another backup",
		    x->n, x->what, where, got, x->stream_sha256);
		goto done;
	}
	if (f->code) {
		const char *at = x->n == 1 ? x->objs[0].key : "";
		rc = err_set(f->code, "%s%s: %s", where, at, f->msg);
		goto done;
	}
	stage_hash_hex(rb->plain_hash, got);
	if (stage_hash_size(rb->plain_hash) != x->plaintext_size ||
	    strcmp(got, x->plaintext_sha256) != 0) {
		rc = err_set(
		    E_INTEGRITY,
		    "the %s read from %s%s has sha256 %.12s.., but the manifest says %.12s..: "
		    "the manifest does not belong to this object; restore another backup",
		    x->what, where, x->n == 1 ? x->objs[0].key : "", got, x->plaintext_sha256);
		goto done;
	}
done:
	free(dir);
	free(where);
	return rc;
}

int readback_run(struct readback *rb, struct store *st, const struct manifest *m, const char *ns,
		 const char *name)
{
	struct expect_obj *objs = xcalloc(m->nobjects ? m->nobjects : 1, sizeof(*objs));
	for (size_t i = 0; i < m->nobjects; i++)
		objs[i] = (struct expect_obj){m->objects[i].key, m->objects[i].size,
					      m->objects[i].sha256};
	const struct expect x = {
	    objs,  m->nobjects, manifest_stream_sha256(m), m->plaintext_size, m->plaintext_sha256,
	    "dump"};
	int rc = run_objects(rb, st, &x, ns, name);
	free(objs);
	return rc;
}

int readback_run_files(struct readback *rb, struct store *st, const struct manifest *m,
		       const char *ns, const char *name)
{
	const struct manifest_files *f = &m->files;
	const struct expect_obj o = {f->key, f->size, f->sha256};
	const struct expect x = {
	    &o, 1, f->sha256, f->plaintext_size, f->plaintext_sha256, "files archive"};
	return run_objects(rb, st, &x, ns, name);
}

void readback_dispose(struct readback *rb)
{
	stage_free_chain(rb->head);
	memset(rb, 0, sizeof(*rb));
}
