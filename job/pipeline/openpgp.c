/* OpenPGP symmetric encryption and decryption stages (RFC 4880: S2K, SKESK,
 * SEIPD with MDC, Literal and Compressed Data); packet logic only, no I/O. */
#include "job/pipeline/openpgp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#define ZLIB_CONST
#include <zlib.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/stage.h"

#define CHUNK 65536	/* partial body length the encryptor emits (2^16) */
#define CHUNK_CODE 0xF0 /* its length octet: 224 + 16 */
#define WORK 16384	/* decryption and inflate slice */
#define HOLD 22		/* the MDC packet: 0xD3 0x14 and a SHA-1 */
#define SKESK_MAX 128
#define MAX_BS 16

#define TAG_PKESK 1
#define TAG_SIG 2
#define TAG_SKESK 3
#define TAG_OPS 4
#define TAG_COMPRESSED 8
#define TAG_SED 9
#define TAG_MARKER 10
#define TAG_LITERAL 11
#define TAG_SEIPD 18
#define TAG_AEAD 20

static const char trailing[] = "OpenPGP integrity check failed: unexpected data after the "
			       "encrypted data; the object is corrupt; restore another backup";
static const char mdc_failed[] = "OpenPGP integrity check (MDC) failed: the encrypted object is "
				 "corrupt or was tampered with; restore another backup";

static const struct pgp_hash {
	int id;
	const EVP_MD *(*md)(void);
} hashes[] = {
    {2, EVP_sha1}, {8, EVP_sha256}, {9, EVP_sha384}, {10, EVP_sha512}, {11, EVP_sha224},
};

static const struct pgp_cipher {
	int id;
	const char *name;
	size_t keylen;
	size_t bs;
	const EVP_CIPHER *(*cipher)(void);
} ciphers[] = {
    {2, "3DES", 24, 8, EVP_des_ede3_cfb64},
    {7, "AES-128", 16, 16, EVP_aes_128_cfb128},
    {8, "AES-192", 24, 16, EVP_aes_192_cfb128},
    {9, "AES-256", 32, 16, EVP_aes_256_cfb128},
    {11, "Camellia-128", 16, 16, EVP_camellia_128_cfb128},
    {12, "Camellia-192", 24, 16, EVP_camellia_192_cfb128},
    {13, "Camellia-256", 32, 16, EVP_camellia_256_cfb128},
};

/* What both stages start with, so openpgp_info_get serves either. */
struct pgp_common {
	struct stage base;
	struct openpgp_info info;
	int failed;   /* the first error: every later call fails */
	int finished; /* finish succeeded: every later call fails */
};

static const struct pgp_hash *hash_find(int id)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].id == id)
			return &hashes[i];
	return NULL;
}

static const struct pgp_cipher *cipher_find(int id)
{
	for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (ciphers[i].id == id)
			return &ciphers[i];
	return NULL;
}

static int common_check(const struct pgp_common *c)
{
	if (c->failed)
		return err_set(c->failed, "%s: an earlier call failed", c->base.ops->name);
	if (c->finished)
		return err_set(E_INVALID, "%s: used after finish", c->base.ops->name);
	return 0;
}

/* Records the outcome of a write or finish for common_check. */
static int common_done(struct pgp_common *c, int rc, int finishing)
{
	if (rc < 0)
		c->failed = rc;
	else if (finishing)
		c->finished = 1;
	return rc;
}

static int emit(struct stage *s, const uint8_t *p, size_t n)
{
	return s->next ? stage_write(s->next, p, n) : 0;
}

uint32_t openpgp_s2k_count_decode(uint8_t c)
{
	return (uint32_t)(16 + (c & 15)) << ((c >> 4) + 6);
}

int openpgp_s2k_derive(uint8_t *key, size_t keylen, int hash_algo, int s2k_type,
		       const uint8_t salt[8], uint32_t count, const char *pass, size_t passlen)
{
	static const uint8_t zeros[4];
	const struct pgp_hash *h = hash_find(hash_algo);
	size_t saltlen = s2k_type == 0 ? 0 : 8;
	size_t unit = saltlen + passlen, blocklen = 0, have = 0;
	uint64_t total = unit;
	uint8_t *block = NULL;
	uint8_t digest[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = NULL;
	int rc = 0;

	if (!h) {
		rc = err_set(E_UNSUPPORTED,
			     "OpenPGP S2K hash algorithm %d is not supported (SHA-1, SHA-224, "
			     "SHA-256, SHA-384 and SHA-512 are); re-encrypt with "
			     "`gpg --s2k-digest-algo SHA256`",
			     hash_algo);
		goto done;
	}
	if (s2k_type != 0 && s2k_type != 1 && s2k_type != 3) {
		rc = err_set(E_UNSUPPORTED,
			     "OpenPGP S2K type %d is not supported (0 simple, 1 salted and 3 "
			     "iterated+salted are); re-encrypt with `gpg --symmetric`",
			     s2k_type);
		goto done;
	}
	if (keylen > 2 * 32) {
		rc = err_set(E_INVALID, "OpenPGP S2K: key length %zu is out of range", keylen);
		goto done;
	}
	if (s2k_type == 3 && count > unit)
		total = count;
	/* Blocks hold a whole number of salt+passphrase units, so hashing
	 * block after block keeps the repetition aligned. */
	if (unit > 0) {
		size_t reps = unit >= 8192 ? 1 : 8192 / unit;
		blocklen = reps * unit;
		block = xmalloc(blocklen);
		for (size_t i = 0; i < reps; i++) {
			if (saltlen)
				memcpy(block + i * unit, salt, saltlen);
			if (passlen)
				memcpy(block + i * unit + saltlen, pass, passlen);
		}
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		rc = err_set(E_IO, "OpenPGP S2K: OpenSSL could not allocate a digest");
		goto done;
	}
	/* Each further hash context is preloaded with one more zero byte. */
	for (size_t round = 0; have < keylen; round++) {
		uint64_t left = total;
		unsigned int mdlen = 0;
		size_t take;
		if (EVP_DigestInit_ex(ctx, h->md(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, zeros, round) != 1) {
			rc = err_set(E_IO, "OpenPGP S2K: OpenSSL digest failed");
			goto done;
		}
		while (left > 0) {
			size_t k = left < blocklen ? (size_t)left : blocklen;
			if (EVP_DigestUpdate(ctx, block, k) != 1) {
				rc = err_set(E_IO, "OpenPGP S2K: OpenSSL digest failed");
				goto done;
			}
			left -= k;
		}
		if (EVP_DigestFinal_ex(ctx, digest, &mdlen) != 1) {
			rc = err_set(E_IO, "OpenPGP S2K: OpenSSL digest failed");
			goto done;
		}
		take = keylen - have < mdlen ? keylen - have : mdlen;
		memcpy(key + have, digest, take);
		have += take;
	}
done:
	if (rc < 0 && key)
		OPENSSL_cleanse(key, keylen);
	OPENSSL_cleanse(digest, sizeof(digest));
	if (block) {
		OPENSSL_cleanse(block, blocklen);
		free(block);
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

void openpgp_info_get(const struct stage *s, struct openpgp_info *out)
{
	*out = ((const struct pgp_common *)s)->info;
}

/* ---------------------------------------------------------------- encrypt */

/* The ciphertext is gathered into wbuf, WBUF_PARTS partial body parts at a
 * time with their length octets, so the next stage (hash, store) gets one
 * write of about 1 MiB rather than a 1-byte header and a 64 KiB part. */
#define WBUF_PARTS 16
#define WBUF (15 + 1 + WBUF_PARTS * (CHUNK + 1))

struct enc {
	struct pgp_common c;
	EVP_CIPHER_CTX *cipher;
	EVP_MD_CTX *sha1;
	int lit_first; /* the Literal Data header is still to come */
	size_t llen;
	/* wbuf[0, wlen): ready to emit; wbuf[wlen]: the length octet of the
	 * part being filled, whose olen bytes start at wbuf + wlen + 1. */
	size_t wlen, olen;
	uint8_t lbuf[CHUNK]; /* Literal Data body not yet encrypted */
	uint8_t wbuf[WBUF];  /* SKESK, SEIPD header and body (ciphertext) not yet written */
};

/* Writes a new-format definite length; returns its size. */
static size_t put_len(uint8_t *h, size_t len)
{
	if (len < 192) {
		h[0] = (uint8_t)len;
		return 1;
	}
	if (len < 8384) {
		h[0] = (uint8_t)(((len - 192) >> 8) + 192);
		h[1] = (uint8_t)((len - 192) & 0xff);
		return 2;
	}
	h[0] = 0xff;
	h[1] = (uint8_t)(len >> 24);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 8);
	h[4] = (uint8_t)len;
	return 5;
}

/* The part being filled is full and more bytes follow: it becomes a partial
 * part in wbuf; a full wbuf goes to the next stage. */
static int enc_part_done(struct enc *e)
{
	e->wbuf[e->wlen] = CHUNK_CODE;
	e->wlen += 1 + CHUNK;
	e->olen = 0;
	if (e->wlen + 1 + CHUNK <= sizeof(e->wbuf))
		return 0;
	int rc = emit(&e->c.base, e->wbuf, e->wlen);
	e->wlen = 0;
	return rc;
}

/* Writes what wbuf holds, the part being filled as the final one (its
 * definite length octets before it). */
static int enc_flush_final(struct enc *e)
{
	uint8_t h[5];
	size_t hl = put_len(h, e->olen);
	uint8_t *part = e->wbuf + e->wlen + 1;
	int rc;
	if (hl == 1) {
		e->wbuf[e->wlen] = h[0];
		rc = emit(&e->c.base, e->wbuf, e->wlen + 1 + e->olen);
	} else if (!(rc = emit(&e->c.base, e->wbuf, e->wlen)) && !(rc = emit(&e->c.base, h, hl)))
		rc = emit(&e->c.base, part, e->olen);
	e->wlen = e->olen = 0;
	return rc;
}

/* Encrypts into the part being filled; a full part is closed only when more
 * bytes follow, so the final part is never empty. */
static int enc_cipher(struct enc *e, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k;
		int outl = 0, rc;
		if (e->olen == CHUNK && (rc = enc_part_done(e)) < 0)
			return rc;
		k = n < CHUNK - e->olen ? n : CHUNK - e->olen;
		if (EVP_EncryptUpdate(e->cipher, e->wbuf + e->wlen + 1 + e->olen, &outl, p,
				      (int)k) != 1 ||
		    (size_t)outl != k)
			return err_set(E_IO, "OpenPGP: AES-256 CFB encryption failed (OpenSSL)");
		e->olen += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Plaintext of the SEIPD: hashed for the MDC, then encrypted. */
static int enc_plain(struct enc *e, const uint8_t *p, size_t n)
{
	if (EVP_DigestUpdate(e->sha1, p, n) != 1)
		return err_set(E_IO, "OpenPGP: SHA-1 for the MDC failed (OpenSSL)");
	return enc_cipher(e, p, n);
}

/* Encrypts one Literal Data body part (body, len): partial or final. */
static int enc_lit_part(struct enc *e, const uint8_t *body, size_t len, int final)
{
	uint8_t h[6];
	size_t hl = 0;
	int rc;

	if (e->lit_first)
		h[hl++] = 0xc0 | TAG_LITERAL;
	e->lit_first = 0;
	if (final)
		hl += put_len(h + hl, len);
	else
		h[hl++] = CHUNK_CODE;
	rc = enc_plain(e, h, hl);
	if (rc == 0)
		rc = enc_plain(e, body, len);
	return rc;
}

static int enc_flush_lit(struct enc *e, int final)
{
	int rc = enc_lit_part(e, e->lbuf, e->llen, final);
	e->llen = 0;
	return rc;
}

static int enc_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct enc *e = (struct enc *)s;
	int rc = 0;

	if ((rc = common_check(&e->c)) < 0)
		goto done;
	while (n > 0) {
		size_t k;
		if (e->llen == CHUNK && (rc = enc_flush_lit(e, 0)) < 0)
			goto done;
		/* A whole part with more bytes after it: encrypted in place. */
		if (e->llen == 0 && n > CHUNK) {
			if ((rc = enc_lit_part(e, p, CHUNK, 0)) < 0)
				goto done;
			p += CHUNK;
			n -= CHUNK;
			continue;
		}
		k = n < CHUNK - e->llen ? n : CHUNK - e->llen;
		memcpy(e->lbuf + e->llen, p, k);
		e->llen += k;
		p += k;
		n -= k;
	}
done:
	return common_done(&e->c, rc, 0);
}

static int enc_finish(struct stage *s)
{
	static const uint8_t mdc_hdr[2] = {0xd3, 0x14};
	struct enc *e = (struct enc *)s;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	int rc = 0;

	if ((rc = common_check(&e->c)) < 0)
		goto done;
	if ((rc = enc_flush_lit(e, 1)) < 0 || (rc = enc_plain(e, mdc_hdr, 2)) < 0)
		goto done;
	if (EVP_DigestFinal_ex(e->sha1, digest, &dlen) != 1 || dlen != 20) {
		rc = err_set(E_IO, "OpenPGP: SHA-1 for the MDC failed (OpenSSL)");
		goto done;
	}
	if ((rc = enc_cipher(e, digest, 20)) < 0 || (rc = enc_flush_final(e)) < 0)
		goto done;
	rc = stage_finish_next(s);
done:
	OPENSSL_cleanse(digest, sizeof(digest));
	return common_done(&e->c, rc, 1);
}

static void enc_free(struct stage *s)
{
	struct enc *e = (struct enc *)s;
	EVP_CIPHER_CTX_free(e->cipher);
	EVP_MD_CTX_free(e->sha1);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

static const struct stage_ops enc_ops = {"openpgp-encrypt", enc_write, enc_finish, enc_free};

struct stage *openpgp_encrypt_new(const char *pass, size_t passlen, uint8_t s2k_count_byte,
				  struct stage *next)
{
	static const uint8_t zero_iv[16];
	struct enc *e = xcalloc(1, sizeof(*e));
	uint8_t salt[8], prefix[18], key[32];
	uint8_t cb = s2k_count_byte ? s2k_count_byte : 0xff;
	int ok = 0;

	e->c.base.ops = &enc_ops;
	e->c.base.next = next;
	e->c.info.cipher_algo = 9;
	e->c.info.s2k_type = 3;
	e->c.info.s2k_hash_algo = 8;
	e->c.info.s2k_count = openpgp_s2k_count_decode(cb);
	e->c.info.mdc = 1;
	if (RAND_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(prefix, 16) != 1) {
		err_set(E_IO, "OpenPGP: the OpenSSL random generator failed; cannot make the "
			      "S2K salt and the encryption prefix");
		goto done;
	}
	/* The quick check: the prefix repeats its last two bytes. */
	prefix[16] = prefix[14];
	prefix[17] = prefix[15];
	if (openpgp_s2k_derive(key, sizeof(key), 8, 3, salt, e->c.info.s2k_count, pass, passlen) <
	    0)
		goto done;
	e->cipher = EVP_CIPHER_CTX_new();
	e->sha1 = EVP_MD_CTX_new();
	if (!e->cipher || !e->sha1 ||
	    EVP_EncryptInit_ex(e->cipher, EVP_aes_256_cfb128(), NULL, key, zero_iv) != 1 ||
	    EVP_DigestInit_ex(e->sha1, EVP_sha1(), NULL) != 1) {
		err_set(E_IO, "OpenPGP: OpenSSL could not set up AES-256 CFB and SHA-1");
		goto done;
	}
	/* SKESK v4: new-format tag 3, length 13, AES-256, S2K 3 with SHA-256,
	 * salt, coded count; no encrypted session key. Then the SEIPD's tag;
	 * its first part starts with the version octet. */
	e->wbuf[0] = 0xc0 | TAG_SKESK;
	e->wbuf[1] = 13;
	e->wbuf[2] = 4;
	e->wbuf[3] = 9;
	e->wbuf[4] = 3;
	e->wbuf[5] = 8;
	memcpy(e->wbuf + 6, salt, 8);
	e->wbuf[14] = cb;
	e->wbuf[15] = 0xc0 | TAG_SEIPD;
	e->wlen = 16;
	e->lit_first = 1;
	e->wbuf[e->wlen + 1] = 1; /* SEIPD version */
	e->olen = 1;
	/* Literal Data: binary, empty file name, date 0. */
	memcpy(e->lbuf, "b\0\0\0\0\0", 6);
	e->llen = 6;
	if (enc_plain(e, prefix, sizeof(prefix)) < 0)
		goto done;
	ok = 1;
done:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(prefix, sizeof(prefix));
	if (!ok) {
		enc_free(&e->c.base);
		return NULL;
	}
	return &e->c.base;
}

/* ----------------------------------------------------------- packet reader */

/* A push parser for packet framing: old and new headers, partial bodies. */
enum { PR_TAG, PR_LEN, PR_BODY };
enum { PR_NEED, PR_START, PR_DATA, PR_END };

struct pr {
	int state;
	int tag;
	int newfmt;
	int first;	   /* the length being read is the packet's first */
	int partial;	   /* more body parts follow the current one */
	int indeterminate; /* old-format length type 3: the body runs to the end */
	uint8_t len[5];
	size_t lenhave, lenneed;
	uint64_t left; /* bytes left in the current body part */
	uint8_t bad;   /* the byte that was not a packet tag */
};

static void pr_decode(struct pr *r)
{
	const uint8_t *l = r->len;
	r->partial = 0;
	if (!r->newfmt) {
		r->left = 0;
		for (size_t i = 0; i < r->lenneed; i++)
			r->left = (r->left << 8) | l[i];
	} else if (l[0] < 192) {
		r->left = l[0];
	} else if (l[0] < 224) {
		r->left = ((uint64_t)(l[0] - 192) << 8) + l[1] + 192;
	} else if (l[0] < 255) {
		r->left = (uint64_t)1 << (l[0] & 0x1f);
		r->partial = 1;
	} else {
		r->left = (uint64_t)l[1] << 24 | (uint64_t)l[2] << 16 | (uint64_t)l[3] << 8 | l[4];
	}
}

/* Consumes input up to the next event. PR_DATA hands out *dlen body bytes
 * at *data. Returns -1 on a byte that cannot start a packet. */
static int pr_step(struct pr *r, const uint8_t **p, size_t *n, const uint8_t **data, size_t *dlen)
{
	for (;;) {
		if (r->state == PR_TAG) {
			uint8_t c;
			if (*n == 0)
				return PR_NEED;
			c = **p;
			(*p)++;
			(*n)--;
			r->newfmt = (c & 0x40) != 0;
			r->tag = r->newfmt ? c & 0x3f : (c >> 2) & 0x0f;
			if (!(c & 0x80) || r->tag == 0) {
				r->bad = c;
				return -1;
			}
			r->first = 1;
			r->indeterminate = 0;
			r->lenhave = 0;
			r->lenneed = 1;
			r->state = PR_LEN;
			if (!r->newfmt && (c & 3) == 3) {
				r->indeterminate = 1;
				r->state = PR_BODY;
				return PR_START;
			}
			if (!r->newfmt)
				r->lenneed = (c & 3) == 0 ? 1 : (c & 3) == 1 ? 2 : 4;
		} else if (r->state == PR_LEN) {
			if (*n == 0)
				return PR_NEED;
			r->len[r->lenhave++] = **p;
			(*p)++;
			(*n)--;
			if (r->newfmt && r->lenhave == 1) {
				if (r->len[0] >= 192 && r->len[0] < 224)
					r->lenneed = 2;
				else if (r->len[0] == 255)
					r->lenneed = 5;
			}
			if (r->lenhave < r->lenneed)
				continue;
			pr_decode(r);
			r->state = PR_BODY;
			if (r->first) {
				r->first = 0;
				return PR_START;
			}
		} else {
			size_t k;
			if (!r->indeterminate && r->left == 0) {
				if (r->partial) {
					r->state = PR_LEN;
					r->lenhave = 0;
					r->lenneed = 1;
					continue;
				}
				r->state = PR_TAG;
				return PR_END;
			}
			if (*n == 0)
				return PR_NEED;
			k = *n;
			if (!r->indeterminate && r->left < k)
				k = (size_t)r->left;
			*data = *p;
			*dlen = k;
			*p += k;
			*n -= k;
			if (!r->indeterminate)
				r->left -= k;
			return PR_DATA;
		}
	}
}

/* ---------------------------------------------------------------- decrypt */

struct dec {
	struct pgp_common c;
	char *pass;
	size_t passlen;
	struct pr r0;	   /* the message's own packets */
	uint64_t in_off;   /* input bytes consumed */
	uint64_t pkt_off;  /* where the current outer packet began */
	uint64_t npackets; /* outer packets started */
	/* key */
	uint8_t skesk[SKESK_MAX];
	size_t skesk_len;
	uint8_t key[32];
	const struct pgp_cipher *ciph;
	int have_key;
	int skesk_err; /* why the last SKESK was unusable */
	char skesk_msg[512];
	int pkesk_seen;
	/* SEIPD */
	int seipd; /* 0 not yet, 1 in its body, 2 ended */
	int ver_seen;
	EVP_CIPHER_CTX *cipher;
	EVP_MD_CTX *sha1;
	uint8_t pfx[MAX_BS + 2];
	size_t pfx_len;
	size_t hold_len;
	/* inside the encryption (level 0) and the compression (level 1) */
	struct pr rm[2];
	int msg_seen[2]; /* the level's one Literal or Compressed packet began */
	int msg_done[2]; /* ... and ended */
	int deferred;	 /* an E_UNSUPPORTED reported only once the MDC holds */
	char deferred_msg[512];
	size_t lit_pos, lit_hdrlen;
	int zalgo; /* -1 until the algorithm octet is read */
	int z_init, z_done;
	z_stream z;
	uint8_t plain[HOLD + WORK]; /* decrypted bytes; the last HOLD held back */
	uint8_t zout[WORK];
};

static int inside_err(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int defer(struct dec *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int skesk_bad(struct dec *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int msg_feed(struct dec *d, int level, const uint8_t *p, size_t n);
static int msg_finish_level(struct dec *d, int level);

/* Structure errors inside the encryption: most likely corruption. */
static int inside_err(struct dec *d, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	(void)d;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(E_INTEGRITY,
		       "OpenPGP data inside the encryption is malformed (%s): the encrypted object "
		       "is corrupt or was tampered with; restore another backup",
		       what);
}

/* Inside the encryption, "unsupported" could be a flipped bit: keep reading
 * (and hashing) and report it at finish, after the MDC decides. */
static int defer(struct dec *d, int code, const char *fmt, ...)
{
	va_list ap;
	if (d->deferred)
		return 0;
	d->deferred = code;
	va_start(ap, fmt);
	vsnprintf(d->deferred_msg, sizeof(d->deferred_msg), fmt, ap);
	va_end(ap);
	return 0;
}

/* An SKESK we cannot use is fatal only if no other one is usable. */
static int skesk_bad(struct dec *d, int code, const char *fmt, ...)
{
	va_list ap;
	d->skesk_err = code;
	va_start(ap, fmt);
	vsnprintf(d->skesk_msg, sizeof(d->skesk_msg), fmt, ap);
	va_end(ap);
	return 0;
}

static int lit_data(struct dec *d, const uint8_t *p, size_t n)
{
	/* Skip format, file name length, file name and date. */
	while (n > 0 && d->lit_pos < d->lit_hdrlen) {
		if (d->lit_pos == 1)
			d->lit_hdrlen = 6 + (size_t)p[0];
		d->lit_pos++;
		p++;
		n--;
	}
	return n ? emit(&d->c.base, p, n) : 0;
}

/* Runs inflate over p (n may be 0 to drain) and parses what comes out. */
static int z_run(struct dec *d, const uint8_t *p, size_t n)
{
	d->z.next_in = p;
	d->z.avail_in = (uInt)n;
	for (;;) {
		size_t produced;
		int zrc, rc;
		if (d->z_done)
			return d->z.avail_in ? inside_err(d, "data after the compressed stream")
					     : 0;
		d->z.next_out = d->zout;
		d->z.avail_out = sizeof(d->zout);
		zrc = inflate(&d->z, Z_NO_FLUSH);
		produced = sizeof(d->zout) - d->z.avail_out;
		if (zrc == Z_STREAM_END)
			d->z_done = 1;
		/* What inflate wrote before it found an error is parsed first, as
		 * it is when the input comes in smaller slices. */
		if (produced && ((rc = msg_feed(d, 1, d->zout, produced)) < 0 || d->deferred))
			return rc;
		if (!d->z_done && zrc != Z_OK && zrc != Z_BUF_ERROR)
			return inside_err(d, "corrupt compressed data: zlib: %s",
					  d->z.msg ? d->z.msg : "error");
		if (!d->z_done &&
		    (zrc == Z_BUF_ERROR || (d->z.avail_in == 0 && d->z.avail_out != 0)))
			return 0;
	}
}

static int z_data(struct dec *d, const uint8_t *p, size_t n)
{
	if (d->zalgo < 0) {
		int zrc = Z_OK;
		if (n == 0)
			return 0;
		d->zalgo = p[0];
		d->c.info.compression_algo = p[0];
		p++;
		n--;
		if (d->zalgo == 1)
			zrc = inflateInit2(&d->z, -15);
		else if (d->zalgo == 2)
			zrc = inflateInit2(&d->z, 15);
		else if (d->zalgo == 3)
			return defer(
			    d, E_UNSUPPORTED,
			    "the OpenPGP message is compressed with BZip2, which lifeboat does "
			    "not support; re-encrypt it with `gpg --compress-algo zlib` (or "
			    "`--compress-algo none`)");
		else if (d->zalgo != 0)
			return defer(
			    d, E_UNSUPPORTED,
			    "OpenPGP compression algorithm %d is not supported; re-encrypt "
			    "with `gpg --compress-algo zlib` (or `--compress-algo none`)",
			    d->zalgo);
		if (zrc != Z_OK)
			return err_set(E_IO, "OpenPGP: zlib could not start inflating (%d)", zrc);
		d->z_init = d->zalgo != 0;
	}
	if (d->zalgo == 0)
		return msg_feed(d, 1, p, n);
	return z_run(d, p, n);
}

static int msg_start(struct dec *d, int level)
{
	int tag = d->rm[level].tag;

	if (tag == TAG_MARKER)
		return 0;
	if (tag == TAG_OPS || tag == TAG_SIG)
		return defer(d, E_UNSUPPORTED,
			     "signed OpenPGP messages are not supported; encrypt with "
			     "`gpg --symmetric` without --sign");
	if (d->msg_seen[level])
		return inside_err(d, "unexpected packet of type %d after the data", tag);
	d->msg_seen[level] = 1;
	if (tag == TAG_LITERAL) {
		d->lit_pos = 0;
		d->lit_hdrlen = 2;
		return 0;
	}
	if (tag == TAG_COMPRESSED && level == 0) {
		d->zalgo = -1;
		return 0;
	}
	return inside_err(d, "unexpected packet of type %d", tag);
}

static int msg_end_packet(struct dec *d, int level)
{
	int rc = 0;

	switch (d->rm[level].tag) {
	case TAG_LITERAL:
		if (d->lit_pos < d->lit_hdrlen)
			return inside_err(d, "truncated literal data header");
		break;
	case TAG_COMPRESSED:
		if (d->zalgo < 0)
			return inside_err(d, "empty compressed data packet");
		if (d->zalgo != 0) {
			if ((rc = z_run(d, NULL, 0)) < 0 || d->deferred)
				return rc;
			if (!d->z_done)
				return inside_err(d, "the compressed stream is truncated");
		}
		if ((rc = msg_finish_level(d, 1)) < 0)
			return rc;
		break;
	default:
		return 0;
	}
	d->msg_done[level] = 1;
	return 0;
}

/* The level's byte stream ended: it must hold exactly one whole message. */
static int msg_finish_level(struct dec *d, int level)
{
	struct pr *r = &d->rm[level];
	int rc;

	if (d->deferred)
		return 0;
	if (r->state == PR_BODY && r->indeterminate) {
		r->state = PR_TAG;
		if ((rc = msg_end_packet(d, level)) < 0)
			return rc;
	} else if (r->state != PR_TAG) {
		return inside_err(d, "a packet is truncated");
	}
	if (!d->msg_done[level] && !d->deferred)
		return inside_err(d, "no literal data");
	return 0;
}

static int msg_feed(struct dec *d, int level, const uint8_t *p, size_t n)
{
	struct pr *r = &d->rm[level];
	int rc = 0;

	while (rc == 0 && !d->deferred) {
		const uint8_t *data = NULL;
		size_t dlen = 0;
		int ev = pr_step(r, &p, &n, &data, &dlen);
		if (ev == PR_NEED)
			break;
		if (ev < 0)
			rc = inside_err(d, "invalid packet header byte 0x%02x", r->bad);
		else if (ev == PR_START)
			rc = msg_start(d, level);
		else if (ev == PR_END)
			rc = msg_end_packet(d, level);
		else if (r->tag == TAG_LITERAL)
			rc = lit_data(d, data, dlen);
		else if (r->tag == TAG_COMPRESSED)
			rc = z_data(d, data, dlen);
	}
	return rc;
}

/* Decrypted bytes at q (inside plain, just after the held-back ones). */
static int plain_in(struct dec *d, uint8_t *q, size_t m)
{
	size_t bs = d->ciph->bs, total;
	int rc = 0;

	if (d->pfx_len < bs + 2) {
		size_t t = bs + 2 - d->pfx_len < m ? bs + 2 - d->pfx_len : m;
		memcpy(d->pfx + d->pfx_len, q, t);
		d->pfx_len += t;
		if (EVP_DigestUpdate(d->sha1, q, t) != 1)
			return err_set(E_IO, "OpenPGP: SHA-1 for the MDC failed (OpenSSL)");
		if (d->pfx_len == bs + 2 &&
		    (d->pfx[bs - 2] != d->pfx[bs] || d->pfx[bs - 1] != d->pfx[bs + 1]))
			return err_set(E_PASSPHRASE, "wrong passphrase (the OpenPGP quick check "
						     "failed); check the encryption passphrase");
		m -= t;
		if (m)
			memmove(d->plain + d->hold_len, q + t, m);
	}
	total = d->hold_len + m;
	if (total <= HOLD) {
		d->hold_len = total;
		return 0;
	}
	/* All but the last HOLD bytes are message; those may be the MDC. */
	if (EVP_DigestUpdate(d->sha1, d->plain, total - HOLD) != 1)
		return err_set(E_IO, "OpenPGP: SHA-1 for the MDC failed (OpenSSL)");
	rc = msg_feed(d, 0, d->plain, total - HOLD);
	memmove(d->plain, d->plain + total - HOLD, HOLD);
	d->hold_len = HOLD;
	return rc;
}

static int seipd_start(struct dec *d)
{
	static const uint8_t zero_iv[MAX_BS];

	if (!d->have_key) {
		if (d->skesk_err)
			return err_set(d->skesk_err, "%s", d->skesk_msg);
		if (d->pkesk_seen)
			return err_set(
			    E_UNSUPPORTED,
			    "the OpenPGP message is encrypted to a public key; lifeboat "
			    "opens passphrase-encrypted messages only (`gpg --symmetric`)");
		return err_set(E_INTEGRITY,
			       "the OpenPGP message has no passphrase packet (SKESK) before its "
			       "encrypted data: the object is corrupt; restore another backup");
	}
	d->seipd = 1;
	d->cipher = EVP_CIPHER_CTX_new();
	d->sha1 = EVP_MD_CTX_new();
	if (!d->cipher || !d->sha1 ||
	    EVP_DecryptInit_ex(d->cipher, d->ciph->cipher(), NULL, d->key, zero_iv) != 1 ||
	    EVP_DigestInit_ex(d->sha1, EVP_sha1(), NULL) != 1)
		return err_set(E_IO, "OpenPGP: OpenSSL could not set up %s CFB and SHA-1",
			       d->ciph->name);
	return 0;
}

static int seipd_data(struct dec *d, const uint8_t *p, size_t n)
{
	int rc = 0;

	if (!d->ver_seen && n > 0) {
		if (p[0] == 2)
			return err_set(E_UNSUPPORTED,
				       "OpenPGP SEIPD version 2 (RFC 9580 AEAD) is not supported; "
				       "re-encrypt with `gpg --symmetric --cipher-algo AES256`");
		if (p[0] != 1)
			return err_set(E_INTEGRITY,
				       "unknown OpenPGP encrypted data version %d: the object is "
				       "corrupt; restore another backup",
				       p[0]);
		d->ver_seen = 1;
		p++;
		n--;
	}
	while (rc == 0 && n > 0) {
		size_t k = n < WORK ? n : WORK;
		uint8_t *out = d->plain + d->hold_len;
		int outl = 0;
		if (EVP_DecryptUpdate(d->cipher, out, &outl, p, (int)k) != 1 || (size_t)outl != k)
			return err_set(E_IO, "OpenPGP: %s CFB decryption failed (OpenSSL)",
				       d->ciph->name);
		rc = plain_in(d, out, k);
		p += k;
		n -= k;
	}
	return rc;
}

static int skesk_parse(struct dec *d)
{
	const uint8_t *b = d->skesk;
	size_t len = d->skesk_len, need;
	const struct pgp_cipher *ciph;
	int type, rc;
	uint32_t count;

	if (d->have_key)
		return 0; /* the first usable SKESK wins */
	if (len < 4)
		return skesk_bad(d, E_INTEGRITY,
				 "truncated OpenPGP passphrase packet (SKESK): the object is "
				 "corrupt; restore another backup");
	if (b[0] != 4)
		return skesk_bad(d, E_UNSUPPORTED,
				 "OpenPGP passphrase packet (SKESK) version %d is not supported "
				 "(only version 4, RFC 4880); re-encrypt with `gpg --symmetric`",
				 b[0]);
	ciph = cipher_find(b[1]);
	if (!ciph)
		return skesk_bad(d, E_UNSUPPORTED,
				 "OpenPGP cipher algorithm %d is not supported; re-encrypt with "
				 "`gpg --symmetric --cipher-algo AES256`",
				 b[1]);
	type = b[2];
	need = type == 0 ? 4 : type == 1 ? 12 : type == 3 ? 13 : 0;
	if (need == 0)
		return skesk_bad(d, E_UNSUPPORTED,
				 "OpenPGP S2K type %d is not supported (0, 1 and 3 are); "
				 "re-encrypt with `gpg --symmetric`",
				 type);
	if (len < need)
		return skesk_bad(d, E_INTEGRITY,
				 "truncated OpenPGP passphrase packet (SKESK): the object is "
				 "corrupt; restore another backup");
	if (len > need)
		return skesk_bad(d, E_UNSUPPORTED,
				 "the OpenPGP passphrase packet carries a separately encrypted "
				 "session key, which lifeboat does not support; re-encrypt with "
				 "`gpg --symmetric` alone");
	count = type == 3 ? openpgp_s2k_count_decode(b[12]) : 0;
	rc = openpgp_s2k_derive(d->key, ciph->keylen, b[3], type, type ? b + 4 : NULL, count,
				d->pass, d->passlen);
	if (rc == E_UNSUPPORTED)
		return skesk_bad(d, rc, "%s", err_msg());
	if (rc < 0)
		return rc;
	d->ciph = ciph;
	d->have_key = 1;
	d->c.info.cipher_algo = b[1];
	d->c.info.s2k_type = type;
	d->c.info.s2k_hash_algo = b[3];
	d->c.info.s2k_count = count;
	return 0;
}

static int outer_start(struct dec *d)
{
	int tag = d->r0.tag;

	d->npackets++;
	if (d->seipd)
		return err_set(E_INTEGRITY, "%s", trailing);
	switch (tag) {
	case TAG_MARKER:
		return 0;
	case TAG_PKESK:
		d->pkesk_seen = 1;
		return 0;
	case TAG_SKESK:
		d->skesk_len = 0;
		return 0;
	case TAG_SEIPD:
		return seipd_start(d);
	case TAG_SED:
		return err_set(E_INTEGRITY,
			       "the OpenPGP message has no integrity protection (MDC): it uses the "
			       "old Symmetrically Encrypted Data packet, where tampering goes "
			       "unnoticed; re-encrypt it with a current `gpg --symmetric`");
	case TAG_AEAD:
		return err_set(E_UNSUPPORTED,
			       "OpenPGP AEAD encrypted data (packet type 20) is not supported; "
			       "re-encrypt with `gpg --symmetric --cipher-algo AES256` without "
			       "AEAD (no --force-ocb)");
	default:
		return err_set(
		    E_INTEGRITY,
		    "not a passphrase-encrypted OpenPGP message (packet type %d at byte "
		    "%llu): the object is corrupt or not a lifeboat/gpg encrypted backup; "
		    "restore another backup",
		    tag, (unsigned long long)d->pkt_off);
	}
}

static int outer_data(struct dec *d, const uint8_t *p, size_t n)
{
	switch (d->r0.tag) {
	case TAG_SKESK:
		if (n > SKESK_MAX - d->skesk_len)
			return err_set(
			    E_INTEGRITY,
			    "OpenPGP passphrase packet (SKESK) longer than %d bytes: the "
			    "object is corrupt; restore another backup",
			    SKESK_MAX);
		memcpy(d->skesk + d->skesk_len, p, n);
		d->skesk_len += n;
		return 0;
	case TAG_SEIPD:
		return seipd_data(d, p, n);
	default:
		return 0;
	}
}

static int outer_feed(struct dec *d, const uint8_t *p, size_t n)
{
	int rc = 0;

	while (rc == 0) {
		const uint8_t *data = NULL;
		size_t dlen = 0, before = n;
		int ev;
		if (d->r0.state == PR_TAG)
			d->pkt_off = d->in_off;
		ev = pr_step(&d->r0, &p, &n, &data, &dlen);
		d->in_off += before - n;
		if (ev == PR_NEED)
			break;
		if (ev < 0 && d->seipd)
			rc = err_set(E_INTEGRITY, "%s", trailing);
		else if (ev < 0 && d->npackets == 0 && d->r0.bad == '-')
			rc = err_set(E_UNSUPPORTED,
				     "the input looks like ASCII-armored OpenPGP; lifeboat reads "
				     "binary OpenPGP only (convert it with `gpg --dearmor`)");
		else if (ev < 0 && d->npackets == 0)
			rc = err_set(
			    E_INTEGRITY,
			    "not an OpenPGP message (it starts with byte 0x%02x): the object "
			    "is not an encrypted backup or is corrupt; restore another backup",
			    d->r0.bad);
		else if (ev < 0)
			rc = err_set(E_INTEGRITY,
				     "malformed OpenPGP packet header at byte %llu: the object is "
				     "corrupt; restore another backup",
				     (unsigned long long)d->in_off - 1);
		else if (ev == PR_START)
			rc = outer_start(d);
		else if (ev == PR_DATA)
			rc = outer_data(d, data, dlen);
		else if (d->r0.tag == TAG_SKESK)
			rc = skesk_parse(d);
		else if (d->r0.tag == TAG_SEIPD)
			d->seipd = 2;
	}
	return rc;
}

static int dec_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct dec *d = (struct dec *)s;
	int rc;

	if ((rc = common_check(&d->c)) < 0)
		return rc;
	return common_done(&d->c, outer_feed(d, p, n), 0);
}

static int dec_check_end(struct dec *d)
{
	static const char truncated[] =
	    "OpenPGP integrity check failed: the encrypted object is truncated (it ends %s); "
	    "it is corrupt or was cut short; restore another backup";
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (d->in_off == 0)
		return err_set(E_INTEGRITY, "not an OpenPGP message: the object is empty; "
					    "restore another backup");
	if (!d->seipd)
		return err_set(E_INTEGRITY, truncated, "before the encrypted data");
	if (d->seipd == 2 && d->r0.state != PR_TAG)
		return err_set(E_INTEGRITY, "%s", trailing);
	if (d->seipd == 1 || !d->ver_seen || d->pfx_len < d->ciph->bs + 2 || d->hold_len < HOLD)
		return err_set(E_INTEGRITY, truncated, "inside the encrypted data");
	if (d->plain[0] != 0xd3 || d->plain[1] != 0x14 ||
	    EVP_DigestUpdate(d->sha1, d->plain, 2) != 1 ||
	    EVP_DigestFinal_ex(d->sha1, digest, &dlen) != 1 || dlen != 20 ||
	    CRYPTO_memcmp(digest, d->plain + 2, 20) != 0)
		return err_set(E_INTEGRITY, "%s", mdc_failed);
	d->c.info.mdc = 1;
	if (d->deferred)
		return err_set(d->deferred, "%s", d->deferred_msg);
	return msg_finish_level(d, 0);
}

static int dec_finish(struct stage *s)
{
	struct dec *d = (struct dec *)s;
	int rc;

	if ((rc = common_check(&d->c)) < 0)
		return rc;
	rc = dec_check_end(d);
	if (rc == 0)
		rc = stage_finish_next(s);
	return common_done(&d->c, rc, 1);
}

static void dec_free(struct stage *s)
{
	struct dec *d = (struct dec *)s;
	if (d->pass) {
		OPENSSL_cleanse(d->pass, d->passlen);
		free(d->pass);
	}
	EVP_CIPHER_CTX_free(d->cipher);
	EVP_MD_CTX_free(d->sha1);
	if (d->z_init)
		inflateEnd(&d->z);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

static const struct stage_ops dec_ops = {"openpgp-decrypt", dec_write, dec_finish, dec_free};

struct stage *openpgp_decrypt_new(const char *pass, size_t passlen, struct stage *next)
{
	struct dec *d = xcalloc(1, sizeof(*d));
	d->c.base.ops = &dec_ops;
	d->c.base.next = next;
	d->pass = xmalloc(passlen + 1);
	if (passlen)
		memcpy(d->pass, pass, passlen);
	d->pass[passlen] = '\0';
	d->passlen = passlen;
	d->zalgo = -1;
	return &d->c.base;
}
