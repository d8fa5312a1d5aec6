/* The decrypt-and-compare step the two OpenPGP decryption targets share
 * (fuzz_openpgp_decrypt.c, fuzz_openpgp_inner.c): a message is decrypted
 * in one write and in slices drawn from a seed. Properties: the error is one
 * openpgp.h documents; the outcome, and on success the output and the
 * parameters, do not depend on the slicing; after an error every later call
 * fails, and so does a second finish. */
#ifndef LIFEBOAT_FUZZ_OPENPGP_CHECK_H
#define LIFEBOAT_FUZZ_OPENPGP_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/openpgp.h"
#include "job/pipeline/stage.h"
#include "tests/fuzz/fuzz.h"

#define PGP_FUZZ_PASS "fuzz passphrase"
#define PGP_FUZZ_OUT_MAX (64u * 1024 * 1024)

struct pgp_outcome {
	int rc;
	char msg[512]; /* err_msg() of the first error */
	struct buf out;
	struct openpgp_info info;
};

static void pgp_decrypt(struct pgp_outcome *o, const uint8_t *data, size_t size, uint64_t seed)
{
	struct fuzz_rng r = {seed};
	struct stage *dec;
	int rc = 0;

	buf_init(&o->out, PGP_FUZZ_OUT_MAX);
	dec = openpgp_decrypt_new(PGP_FUZZ_PASS, strlen(PGP_FUZZ_PASS), stage_buf_new(&o->out));
	for (size_t off = 0; off < size && !rc;) {
		size_t k = seed ? fuzz_slice(&r, size - off) : size - off;
		rc = stage_write(dec, data + off, k);
		off += k;
	}
	if (!rc && (rc = stage_finish(dec)) == 0)
		FUZZ_CHECK(stage_finish(dec) < 0, "a second finish");
	snprintf(o->msg, sizeof(o->msg), "%s", rc ? err_msg() : "");
	if (rc) {
		FUZZ_CHECK(stage_write(dec, (const uint8_t *)"x", 1) < 0, "a write after an error");
		FUZZ_CHECK(stage_finish(dec) < 0, "finish after an error");
	}
	o->rc = rc;
	openpgp_info_get(dec, &o->info);
	stage_free_chain(dec);
}

/* Lowers the iteration count of each iterated+salted SKESK before the
 * encrypted data to at most 126,976 bytes (coded 0x6f; the seeds have gpg's
 * smallest, 65,536, coded 0x60): the parsing does not depend on the count,
 * and the largest (65 MB of hashing, twice an input) would slow the target
 * to a few runs a second. Walks the packets as
 * job/pipeline/openpgp.c frames them; stops at the first it cannot follow (a partial
 * or indeterminate length, a bad tag), leaving the rest as it is. */
static void pgp_cap_s2k(uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i++];
		int tag, newfmt = (c & 0x40) != 0;
		uint64_t len = 0;
		if (!(c & 0x80))
			return;
		tag = newfmt ? c & 0x3f : (c >> 2) & 0x0f;
		if (!newfmt) {
			size_t k = (c & 3) == 0 ? 1 : (c & 3) == 1 ? 2 : (c & 3) == 2 ? 4 : 0;
			if (k == 0 || n - i < k)
				return;
			for (size_t j = 0; j < k; j++)
				len = (len << 8) | p[i++];
		} else {
			if (i >= n)
				return;
			uint8_t l0 = p[i++];
			if (l0 < 192) {
				len = l0;
			} else if (l0 < 224) {
				if (i >= n)
					return;
				len = ((uint64_t)(l0 - 192) << 8) + p[i++] + 192;
			} else if (l0 == 255) {
				if (n - i < 4)
					return;
				len = (uint64_t)p[i] << 24 | (uint64_t)p[i + 1] << 16 |
				      (uint64_t)p[i + 2] << 8 | p[i + 3];
				i += 4;
			} else {
				return; /* partial */
			}
		}
		if (tag == 18 || len > n - i)
			return;
		if (tag == 3 && len >= 13 && p[i + 2] == 3 && (p[i + 12] >> 4) > 6)
			p[i + 12] = (uint8_t)(0x60 | (p[i + 12] & 15));
		i += (size_t)len;
	}
}

/* Decrypts data both ways and checks the properties; returns the code and
 * leaves the plaintext in *out (the caller disposes it). */
static int pgp_decrypt_checked(struct buf *out, const uint8_t *input, size_t size)
{
	struct pgp_outcome whole, sliced;
	uint8_t *data = xmalloc(size ? size : 1);

	if (size)
		memcpy(data, input, size);
	pgp_cap_s2k(data, size);
	pgp_decrypt(&whole, data, size, 0);
	FUZZ_CHECK(whole.rc == 0 || whole.rc == E_PASSPHRASE || whole.rc == E_INTEGRITY ||
		       whole.rc == E_UNSUPPORTED,
		   "decrypt returned %d, which openpgp.h does not document", whole.rc);
	pgp_decrypt(&sliced, data, size, fuzz_hash(data, size) | 1);
	FUZZ_CHECK(sliced.rc == whole.rc, "in one write %d (%s), in slices %d (%s)", whole.rc,
		   whole.msg, sliced.rc, sliced.msg);
	if (whole.rc == 0) {
		FUZZ_CHECK(whole.out.len == sliced.out.len &&
			       memcmp(buf_str(&whole.out), buf_str(&sliced.out), whole.out.len) ==
				   0,
			   "the plaintext differs between slicings (%zu, %zu bytes)", whole.out.len,
			   sliced.out.len);
		FUZZ_CHECK(memcmp(&whole.info, &sliced.info, sizeof(whole.info)) == 0,
			   "the parameters differ between slicings");
		FUZZ_CHECK(whole.info.mdc == 1, "success without a checked MDC");
	}
	if (fuzz_debug())
		fprintf(stderr, "decrypt: %d (%s), %zu bytes out\n", whole.rc,
			whole.rc ? whole.msg : "ok", whole.out.len);
	buf_dispose(&sliced.out);
	free(data);
	*out = whole.out;
	return whole.rc;
}

#endif
