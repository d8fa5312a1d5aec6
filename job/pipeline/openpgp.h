/* OpenPGP (RFC 4880) symmetric encryption and decryption as streaming
 * pipeline stages: SKESK v4 + SEIPD v1 with MDC, bounded memory. */
#ifndef LIFEBOAT_OPENPGP_H
#define LIFEBOAT_OPENPGP_H

#include <stddef.h>
#include <stdint.h>

struct stage;

/* Parameters recorded in the manifest (no secrets). */
struct openpgp_info {
	/* 9 = AES-256 (decrypt also 7, 8 AES; 2 3DES; 11, 12, 13 Camellia) */
	int cipher_algo;
	/* 3 = iterated+salted (decrypt also 0 simple, 1 salted) */
	int s2k_type;
	/* 8 = SHA-256 (decrypt also 2 SHA-1, 9 SHA-384, 10 SHA-512, 11 SHA-224) */
	int s2k_hash_algo;
	/* decoded iteration byte count (0 unless s2k_type is 3) */
	uint32_t s2k_count;
	/* decrypt side: 0 none, 1 ZIP, 2 ZLIB found inside */
	int compression_algo;
	/* 1 when an MDC was present and checked */
	int mdc;
};

/* Encrypting stage: its output is a complete binary OpenPGP message (SKESK v4
 * with AES-256 and an iterated+salted SHA-256 S2K, then SEIPD v1 holding one
 * Literal Data packet and the MDC) that `gpg --decrypt` opens. pass is copied
 * into the key derivation and never kept. s2k_count_byte is the RFC 4880
 * coded count (0 = 0xFF, what gpg uses). The caller owns the result (free it
 * with stage_free_chain or its ops->free); next is borrowed. Returns NULL with
 * err_set (E_IO) when the random generator or OpenSSL fails. Write errors are
 * those of next; finish emits the last chunks and finishes next. */
struct stage *openpgp_encrypt_new(const char *pass, size_t passlen, uint8_t s2k_count_byte,
				  struct stage *next);

/* Decrypting stage: parses a binary OpenPGP message in any slicing and writes
 * the literal data to next as it is decrypted. That data is unauthenticated
 * until finish returns 0: finish checks the MDC. pass is copied and wiped on
 * free. Never NULL. Errors from write and finish:
 *   E_PASSPHRASE  wrong passphrase (the quick check failed);
 *   E_INTEGRITY   not OpenPGP, malformed, no MDC, MDC mismatch, truncation or
 *                 trailing data;
 *   E_UNSUPPORTED valid OpenPGP this module does not handle (public-key
 *                 encryption, encrypted session keys, AEAD, BZip2, signed
 *                 messages, other algorithms).
 * After an error every later call fails. */
struct stage *openpgp_decrypt_new(const char *pass, size_t passlen, struct stage *next);

/* Copies the parameters of an openpgp stage (encrypt: valid at creation;
 * decrypt: once the SKESK is parsed, mdc once finish succeeded). */
void openpgp_info_get(const struct stage *s, struct openpgp_info *out);

/* Pure helpers, exposed for tests. */

/* RFC 4880 3.7.1.3: the number of bytes a coded count byte stands for. */
uint32_t openpgp_s2k_count_decode(uint8_t c);

/* RFC 4880 3.7.1: derives keylen bytes into key from pass. s2k_type 0
 * (simple, salt unused), 1 (salted) or 3 (iterated+salted, count is the
 * decoded byte count); hash_algo 2, 8, 9, 10 or 11. Returns 0, E_UNSUPPORTED
 * for other types or hashes, or E_IO when OpenSSL fails (key is then wiped). */
int openpgp_s2k_derive(uint8_t *key, size_t keylen, int hash_algo, int s2k_type,
		       const uint8_t salt[8], uint32_t count, const char *pass, size_t passlen);

#endif
