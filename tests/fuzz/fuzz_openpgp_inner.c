/* Fuzz target: the input is what lies inside the encryption (Literal,
 * Compressed, Marker, signature packets...). It is wrapped as gpg would:
 * an SKESK for the fixed passphrase, then a SEIPD whose prefix passes the
 * quick check and whose MDC is right, so every input reaches the inner
 * packet parser and inflate of job/pipeline/openpgp.c, which mutated ciphertext
 * rarely does. Then decrypted in one write and in slices (openpgp_check.h).
 * Property on top: a message that decrypts carried its MDC. */
#include <stdlib.h>

#include <openssl/evp.h>

#include "common/xmalloc.h"
#include "tests/fuzz/openpgp_check.h"

static const uint8_t salt[8] = {0x5a, 0x17, 0xc3, 0x08, 0x91, 0x6e, 0x24, 0xfd};
/* SKESK v4: AES-256, iterated+salted SHA-256, salt, count byte 0 (1024). */
static uint8_t skesk[2 + 13] = {0xc3, 13, 4, 9, 3, 8};
static uint8_t key[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	memcpy(skesk + 6, salt, 8);
	skesk[14] = 0;
	if (openpgp_s2k_derive(key, sizeof(key), 8, 3, salt, openpgp_s2k_count_decode(0),
			       PGP_FUZZ_PASS, strlen(PGP_FUZZ_PASS)) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t iv[16];
	size_t ptlen = 18 + size + 22, msglen = sizeof(skesk) + 6 + 1 + ptlen;
	uint8_t *pt = xmalloc(ptlen), *msg = xmalloc(msglen), *h;
	unsigned int mdlen = 0;
	int outl = 0;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	struct buf out;

	/* The prefix: 16 bytes, then its last two again (the quick check). */
	for (int i = 0; i < 16; i++)
		pt[i] = (uint8_t)(0x40 + i);
	pt[16] = pt[14];
	pt[17] = pt[15];
	if (size)
		memcpy(pt + 18, data, size);
	pt[18 + size] = 0xd3;
	pt[19 + size] = 0x14;
	if (!x || EVP_Digest(pt, 20 + size, pt + 20 + size, &mdlen, EVP_sha1(), NULL) != 1 ||
	    EVP_EncryptInit_ex(x, EVP_aes_256_cfb128(), NULL, key, iv) != 1)
		abort();
	memcpy(msg, skesk, sizeof(skesk));
	h = msg + sizeof(skesk);
	/* SEIPD, new format, five-octet length: version 1, then the ciphertext. */
	h[0] = 0xd2;
	h[1] = 0xff;
	h[2] = (uint8_t)((ptlen + 1) >> 24);
	h[3] = (uint8_t)((ptlen + 1) >> 16);
	h[4] = (uint8_t)((ptlen + 1) >> 8);
	h[5] = (uint8_t)(ptlen + 1);
	h[6] = 1;
	if (EVP_EncryptUpdate(x, h + 7, &outl, pt, (int)ptlen) != 1 || (size_t)outl != ptlen)
		abort();
	EVP_CIPHER_CTX_free(x);

	pgp_decrypt_checked(&out, msg, msglen);
	buf_dispose(&out);
	free(pt);
	free(msg);
	return 0;
}
