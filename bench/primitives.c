/* bench/primitives: what the job's work costs at the level of its
 * primitives, on the same bytes. Over FILE (pg_dump's output, as the job
 * reads it) it times, in CPU seconds of this one thread:
 *   sha256-plain   SHA-256 of the plaintext (the manifest's plaintext.sha256)
 *   zstd           the compressor alone, single-threaded, at each level the
 *                  job reported, weighted by the plaintext it compressed there
 *   aes-256-cfb    OpenPGP's cipher over the compressed size
 *   sha1           the MDC over the compressed size
 *   sha256-stored  SHA-256 of what is stored
 *   s2k            OpenPGP's key derivation, once a backup: SHA-256 over
 *                  the manifest's encryption.s2kCount bytes (optional third
 *                  argument; 0 or absent: not encrypted)
 * and prints one line "NAME SECONDS" each, "compressed BYTES" and
 * "sum SECONDS". The reads of FILE are not counted. Apart from the sum, as a
 * reference: "pipe-read SECONDS", this thread's CPU (mostly the kernel's
 * copy) to read FILE's bytes from a 1 MiB pipe a child process fills, in
 * 256 KiB reads: what reading pg_dump's output costs any program.
 *
 *   bench/primitives FILE none              --compression none
 *   bench/primitives FILE 1:226443451,2:105246720 65011712
 *                                           zstd levels : plaintext bytes,
 *                                           S2K count
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#define CHUNK (4u << 20)

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench/primitives: %s\n", what);
	exit(2);
}

/* Hashes FILE with md; returns CPU seconds and sets *size. */
static double hash_file(const char *path, const EVP_MD *md, uint8_t *buf, uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open the file");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t out[EVP_MAX_MD_SIZE];
	double spent = 0, t = cpu_now();
	EVP_DigestInit_ex(ctx, md, NULL);
	spent += cpu_now() - t;
	size_t n;
	*size = 0;
	while ((n = fread(buf, 1, CHUNK, f)) > 0) {
		t = cpu_now();
		EVP_DigestUpdate(ctx, buf, n);
		spent += cpu_now() - t;
		*size += n;
	}
	t = cpu_now();
	EVP_DigestFinal_ex(ctx, out, NULL);
	spent += cpu_now() - t;
	EVP_MD_CTX_free(ctx);
	fclose(f);
	return spent;
}

/* Compresses FILE at level as the job's stage does (checksum, window of
 * level 3), one thread; returns CPU seconds and sets *out_bytes. */
static double zstd_file(const char *path, int level, uint8_t *buf, uint64_t *out_bytes)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open the file");
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 21);
	size_t cap = ZSTD_CStreamOutSize();
	uint8_t *out = malloc(cap);
	double spent = 0;
	size_t n;
	int last = 0;
	*out_bytes = 0;
	while (!last) {
		n = fread(buf, 1, CHUNK, f);
		last = n < CHUNK;
		ZSTD_inBuffer in = {buf, n, 0};
		size_t rc;
		do {
			ZSTD_outBuffer o = {out, cap, 0};
			double t = cpu_now();
			rc = ZSTD_compressStream2(c, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
			spent += cpu_now() - t;
			if (ZSTD_isError(rc))
				die(ZSTD_getErrorName(rc));
			*out_bytes += o.pos;
		} while (last ? rc != 0 : in.pos < in.size);
	}
	free(out);
	ZSTD_freeCCtx(c);
	fclose(f);
	return spent;
}

/* Reads FILE through a pipe a child fills: this thread's CPU seconds. */
static double pipe_read(const char *path)
{
	int fds[2];
	if (pipe(fds) != 0)
		die("cannot make a pipe");
	fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
	pid_t pid = fork();
	if (pid < 0)
		die("cannot fork");
	if (pid == 0) {
		close(fds[0]);
		FILE *f = fopen(path, "rb");
		uint8_t *b = malloc(CHUNK);
		size_t n;
		if (!f || !b)
			_exit(2);
		while ((n = fread(b, 1, CHUNK, f)) > 0)
			for (size_t at = 0; at < n;) {
				ssize_t w = write(fds[1], b + at, n - at);
				if (w <= 0)
					_exit(2);
				at += (size_t)w;
			}
		_exit(0);
	}
	close(fds[1]);
	uint8_t *b = malloc(256 * 1024);
	double t = cpu_now();
	while (read(fds[0], b, 256 * 1024) > 0)
		;
	double spent = cpu_now() - t;
	int status;
	close(fds[0]);
	free(b);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the pipe's writer failed");
	return spent;
}

/* A primitive over `bytes` bytes of buf (repeated): CPU seconds. */
static double over(uint64_t bytes, uint8_t *buf, int which)
{
	static const uint8_t key[32], iv[16];
	EVP_CIPHER_CTX *cx = NULL;
	EVP_MD_CTX *mx = NULL;
	uint8_t *out = malloc(CHUNK), md[EVP_MAX_MD_SIZE];
	int outl;
	double t = cpu_now();
	if (which == 0) {
		cx = EVP_CIPHER_CTX_new();
		EVP_EncryptInit_ex(cx, EVP_aes_256_cfb128(), NULL, key, iv);
	} else {
		mx = EVP_MD_CTX_new();
		EVP_DigestInit_ex(mx, which == 1 ? EVP_sha1() : EVP_sha256(), NULL);
	}
	/* 64 KiB at a time: the size the job's OpenPGP stage hands over. */
	for (uint64_t done = 0; done < bytes;) {
		size_t k = bytes - done < 65536 ? (size_t)(bytes - done) : 65536;
		size_t at = (size_t)(done % (CHUNK - 65536));
		if (cx)
			EVP_EncryptUpdate(cx, out + at, &outl, buf + at, (int)k);
		else
			EVP_DigestUpdate(mx, buf + at, k);
		done += k;
	}
	if (cx) {
		EVP_EncryptFinal_ex(cx, out, &outl);
		EVP_CIPHER_CTX_free(cx);
	} else {
		EVP_DigestFinal_ex(mx, md, NULL);
		EVP_MD_CTX_free(mx);
	}
	double spent = cpu_now() - t;
	free(out);
	return spent;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4)
		die("usage: bench/primitives FILE none|LEVEL:BYTES[,LEVEL:BYTES...] [S2K_COUNT]");
	unsigned long long s2k_count = 0;
	if (argc == 4 && sscanf(argv[3], "%llu", &s2k_count) != 1)
		die("S2K_COUNT is a number of bytes");
	uint8_t *buf = malloc(CHUNK);
	if (!buf)
		die("out of memory");
	memset(buf, 0x5a, CHUNK);
	uint64_t plain = 0, compressed = 0;
	double sha_plain = hash_file(argv[1], EVP_sha256(), buf, &plain);
	double zstd = 0;
	if (strcmp(argv[2], "none") == 0)
		compressed = plain;
	else {
		uint64_t weighted = 0;
		double total = 0;
		char *spec = strdup(argv[2]);
		for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
			int level;
			unsigned long long bytes;
			if (sscanf(tok, "%d:%llu", &level, &bytes) != 2)
				die("levels are LEVEL:BYTES, comma-separated");
			total += (double)bytes;
		}
		free(spec);
		spec = strdup(argv[2]);
		for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
			int level;
			unsigned long long bytes;
			uint64_t out;
			sscanf(tok, "%d:%llu", &level, &bytes);
			double share = total > 0 ? (double)bytes / total : 0;
			double s = zstd_file(argv[1], level, buf, &out);
			zstd += share * s;
			weighted += (uint64_t)(share * (double)out);
		}
		free(spec);
		compressed = weighted;
	}
	double aes = over(compressed, buf, 0);
	double sha1 = over(compressed, buf, 1);
	double sha_stored = over(compressed, buf, 2);
	/* The S2K hashes salt and passphrase repeated: SHA-256 at full speed. */
	double s2k = s2k_count ? over(s2k_count, buf, 2) : 0;
	printf("plaintext %llu\n", (unsigned long long)plain);
	printf("compressed %llu\n", (unsigned long long)compressed);
	printf("sha256-plain %.3f\n", sha_plain);
	printf("zstd %.3f\n", zstd);
	printf("aes-256-cfb %.3f\n", aes);
	printf("sha1 %.3f\n", sha1);
	printf("sha256-stored %.3f\n", sha_stored);
	printf("s2k %.3f\n", s2k);
	printf("pipe-read %.3f\n", pipe_read(argv[1]));
	printf("sum %.3f\n", sha_plain + zstd + aes + sha1 + sha_stored + s2k);
	free(buf);
	return 0;
}
