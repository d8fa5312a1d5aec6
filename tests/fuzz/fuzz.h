/* What every libFuzzer target of tests/fuzz/ shares: the entry points'
 * prototypes, a property check that aborts (libFuzzer saves the input), and
 * deterministic choices (slicings, selectors) drawn from the input itself,
 * so that a saved crash input replays exactly. */
#ifndef LIFEBOAT_FUZZ_H
#define LIFEBOAT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test failed: prints what (and err_msg())
 * on stderr and aborts, which libFuzzer reports as a crash. */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                         \
	} while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* data[0..size) as a new NUL-terminated string (caller frees); an embedded
 * NUL ends the string early, as it would for a C caller. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* FNV-1a of the input: the seed of every choice a target makes. */
uint64_t fuzz_hash(const uint8_t *data, size_t size);

/* A small deterministic generator (splitmix64). */
struct fuzz_rng {
	uint64_t s;
};
uint64_t fuzz_next(struct fuzz_rng *r);
/* A slice length for feeding a stream: 1 to max, small ones often. */
size_t fuzz_slice(struct fuzz_rng *r, size_t max);

/* FUZZ_DEBUG is set: targets print each input's outcome (to check seeds). */
int fuzz_debug(void);

/* Quiet logging, once: the code under test warns about what it is fed. */
void fuzz_quiet(void);

#endif
