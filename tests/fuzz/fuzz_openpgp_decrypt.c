/* Fuzz target: arbitrary bytes into the OpenPGP decrypting stage
 * (job/pipeline/openpgp.c) with a fixed passphrase, in one write and in slices
 * (openpgp_check.h has the properties). The seeds are gpg's output for that
 * passphrase, so mutations reach the packets after the passphrase check. */
#include "tests/fuzz/openpgp_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out;
	pgp_decrypt_checked(&out, data, size);
	buf_dispose(&out);
	return 0;
}
