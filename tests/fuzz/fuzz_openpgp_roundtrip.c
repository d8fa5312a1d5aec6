/* Fuzz target: the input is a plaintext; it is encrypted by the OpenPGP
 * encrypting stage (job/pipeline/openpgp.c) and the result decrypted again, each fed
 * in slices drawn from the input. Properties: both succeed, the plaintext
 * comes back byte for byte, the decryptor reads the parameters the
 * encryptor wrote, and a wrong passphrase is E_PASSPHRASE. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "job/pipeline/openpgp.h"
#include "job/pipeline/stage.h"
#include "tests/fuzz/fuzz.h"

#define PASS "fuzz passphrase"
/* The smallest S2K count (1024 bytes): the key derivation is not what is
 * tested here, and the default (65 MB of SHA-256) costs 0.1 s a run. */
#define COUNT_BYTE 0x01

static int feed(struct stage *s, const uint8_t *p, size_t n, struct fuzz_rng *r)
{
	int rc = 0;
	for (size_t off = 0; off < n && !rc;) {
		size_t k = fuzz_slice(r, n - off);
		rc = stage_write(s, p + off, k);
		off += k;
	}
	return rc ? rc : stage_finish(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_rng r = {fuzz_hash(data, size)};
	struct buf ct, pt, junk;
	struct openpgp_info ei, di;
	struct stage *enc, *dec;
	int rc;

	buf_init(&ct, (size_t)-1);
	buf_init(&pt, (size_t)-1);
	buf_init(&junk, (size_t)-1);
	enc = openpgp_encrypt_new(PASS, strlen(PASS), COUNT_BYTE, stage_buf_new(&ct));
	FUZZ_CHECK(enc, "openpgp_encrypt_new failed");
	openpgp_info_get(enc, &ei);
	rc = feed(enc, data, size, &r);
	FUZZ_CHECK(rc == 0, "encrypting %zu bytes: %d", size, rc);
	stage_free_chain(enc);

	dec = openpgp_decrypt_new(PASS, strlen(PASS), stage_buf_new(&pt));
	rc = feed(dec, (const uint8_t *)buf_str(&ct), ct.len, &r);
	FUZZ_CHECK(rc == 0, "decrypting our own %zu bytes: %d", ct.len, rc);
	openpgp_info_get(dec, &di);
	stage_free_chain(dec);
	FUZZ_CHECK(pt.len == size && (size == 0 || memcmp(pt.ptr, data, size) == 0),
		   "the plaintext came back different (%zu bytes, %zu given)", pt.len, size);
	FUZZ_CHECK(di.cipher_algo == ei.cipher_algo && di.s2k_type == ei.s2k_type &&
		       di.s2k_hash_algo == ei.s2k_hash_algo && di.s2k_count == ei.s2k_count &&
		       di.compression_algo == 0 && di.mdc == 1,
		   "the decryptor read other parameters than the encryptor wrote");

	/* The same message under another passphrase: the quick check refuses it
	 * (1 in 65536 passes it by chance; then the MDC does). */
	dec = openpgp_decrypt_new("not " PASS, strlen("not " PASS), stage_buf_new(&junk));
	rc = feed(dec, (const uint8_t *)buf_str(&ct), ct.len, &r);
	FUZZ_CHECK(rc == E_PASSPHRASE || rc == E_INTEGRITY, "a wrong passphrase gave %d", rc);
	stage_free_chain(dec);

	buf_dispose(&ct);
	buf_dispose(&pt);
	buf_dispose(&junk);
	return 0;
}
