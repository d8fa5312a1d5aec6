/* The stage chain plumbing and the small generic stages (hash, sinks). */
#include "job/pipeline/stage.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "job/pipeline/interrupt.h"

atomic_int stage_interrupted;

int stage_write(struct stage *s, const uint8_t *p, size_t n)
{
	if (atomic_load(&stage_interrupted))
		return interrupt_error();
	if (n == 0)
		return 0;
	return s->ops->write(s, p, n);
}

int stage_finish(struct stage *s)
{
	return s->ops->finish(s);
}

int stage_finish_next(struct stage *s)
{
	return s->next ? stage_finish(s->next) : 0;
}

void stage_free_chain(struct stage *s)
{
	while (s) {
		struct stage *next = s->next;
		s->ops->free(s);
		s = next;
	}
}

/* --- hash --- */

struct hash_stage {
	struct stage base;
	EVP_MD_CTX *md;
	uint64_t size;
	unsigned char digest[32];
	int done;
};

static int hash_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct hash_stage *h = (struct hash_stage *)s;
	if (EVP_DigestUpdate(h->md, p, n) != 1)
		return err_set(E_IO, "SHA-256 update failed");
	h->size += n;
	return s->next ? stage_write(s->next, p, n) : 0;
}

int stage_hash_end(struct stage *s)
{
	struct hash_stage *h = (struct hash_stage *)s;
	if (!h->done) {
		unsigned int len = 0;
		if (EVP_DigestFinal_ex(h->md, h->digest, &len) != 1 || len != 32)
			return err_set(E_IO, "SHA-256 final failed");
		h->done = 1;
	}
	return 0;
}

static int hash_finish(struct stage *s)
{
	int rc = stage_hash_end(s);
	return rc ? rc : stage_finish_next(s);
}

static void hash_free(struct stage *s)
{
	struct hash_stage *h = (struct hash_stage *)s;
	EVP_MD_CTX_free(h->md);
	free(h);
}

static const struct stage_ops hash_ops = {"sha256", hash_write, hash_finish, hash_free};

struct stage *stage_hash_new(struct stage *next)
{
	struct hash_stage *h = xcalloc(1, sizeof(*h));
	h->base.ops = &hash_ops;
	h->base.next = next;
	h->md = EVP_MD_CTX_new();
	/* Only allocation can fail here: fatal, like any out-of-memory. */
	if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
		abort();
	return &h->base;
}

uint64_t stage_hash_size(const struct stage *s)
{
	return ((const struct hash_stage *)s)->size;
}

void stage_hash_hex(const struct stage *s, char out[65])
{
	const struct hash_stage *h = (const struct hash_stage *)s;
	text_hex(out, h->digest, 32);
}

int stage_hash_peek(const struct stage *s, char out[65])
{
	const struct hash_stage *h = (const struct hash_stage *)s;
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned char digest[32];
	unsigned int len = 0;
	int ok = copy && EVP_MD_CTX_copy_ex(copy, h->md) == 1 &&
		 EVP_DigestFinal_ex(copy, digest, &len) == 1 && len == 32;
	EVP_MD_CTX_free(copy);
	if (!ok)
		return err_set(E_IO, "SHA-256 final failed");
	text_hex(out, digest, 32);
	return 0;
}

/* --- buffer sink --- */

struct buf_stage {
	struct stage base;
	struct buf *out;
};

static int bufsink_write(struct stage *s, const uint8_t *p, size_t n)
{
	return buf_add(((struct buf_stage *)s)->out, p, n);
}

static int sink_finish(struct stage *s)
{
	return stage_finish_next(s);
}

static void plain_free(struct stage *s)
{
	free(s);
}

static const struct stage_ops bufsink_ops = {"buffer", bufsink_write, sink_finish, plain_free};

struct stage *stage_buf_new(struct buf *out)
{
	struct buf_stage *b = xcalloc(1, sizeof(*b));
	b->base.ops = &bufsink_ops;
	b->out = out;
	return &b->base;
}

/* --- null sink --- */

static int null_write(struct stage *s, const uint8_t *p, size_t n)
{
	(void)s;
	(void)p;
	(void)n;
	return 0;
}

static const struct stage_ops null_ops = {"null", null_write, sink_finish, plain_free};

struct stage *stage_null_new(void)
{
	struct stage *s = xcalloc(1, sizeof(*s));
	s->ops = &null_ops;
	return s;
}

/* --- fd sink --- */

struct fd_stage {
	struct stage base;
	int fd;
	const char *what;
	int closed; /* the reader went away: the caller judges by its exit status */
	/* A pipe is written without blocking, so that a full one waits in
	 * interrupt_poll, which a signal ends; its flags are put back on free
	 * (when fd is still that pipe: the owner may have closed it first). */
	int saved_flags; /* -1: left as it was */
	dev_t dev;
	ino_t ino;
};

static int fd_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct fd_stage *f = (struct fd_stage *)s;
	while (n > 0 && !f->closed) {
		ssize_t w = write(f->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (interrupt_poll(f->fd, POLLOUT) == 0)
					continue;
				if (errno == EINTR)
					return interrupt_error();
			}
			if (errno == EPIPE) {
				f->closed = 1;
				break;
			}
			return err_set(E_IO, "writing to %s: %s", f->what, strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void fd_free(struct stage *s)
{
	struct fd_stage *f = (struct fd_stage *)s;
	struct stat st;
	if (f->saved_flags >= 0 && fstat(f->fd, &st) == 0 && st.st_dev == f->dev &&
	    st.st_ino == f->ino)
		fcntl(f->fd, F_SETFL, f->saved_flags);
	free(f);
}

static const struct stage_ops fd_ops = {"fd", fd_write, sink_finish, fd_free};

struct stage *stage_fd_new(int fd, const char *what)
{
	struct fd_stage *f = xcalloc(1, sizeof(*f));
	f->base.ops = &fd_ops;
	f->fd = fd;
	f->what = what;
	f->saved_flags = -1;
	struct stat st;
	int flags = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && flags >= 0 && !(flags & O_NONBLOCK) &&
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0) {
		f->saved_flags = flags;
		f->dev = st.st_dev;
		f->ino = st.st_ino;
	}
	return &f->base;
}
