/* POSIX tar (ustar, with pax extended headers where ustar cannot hold an
 * entry): the header encoder the files archive is written with, a streaming
 * reader stage it is read back with, and the entry-name rules that keep an
 * extraction inside its folder. Pure: bytes in, bytes out, no I/O. */
#ifndef LIFEBOAT_TAR_H
#define LIFEBOAT_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "job/pipeline/stage.h"

#define TAR_BLOCK 512
/* The longest entry name and symlink target, in bytes. */
#define TAR_PATH_MAX 4096
/* The largest pax extended header data lifeboat writes or reads. */
#define TAR_PAX_MAX (9 * 1024)
/* The most tar_header_encode writes for one entry. */
#define TAR_HEADER_MAX (TAR_BLOCK + TAR_PAX_MAX + TAR_BLOCK)
/* The end-of-archive marker: two zero blocks. */
#define TAR_END_BYTES (2 * TAR_BLOCK)

enum tar_type {
	TAR_FILE,
	TAR_DIR,
	TAR_SYMLINK,
};

/* One entry. Paths are relative, '/'-separated, without a trailing slash;
 * "." is the archived folder itself. */
struct tar_entry {
	const char *path;
	enum tar_type type;
	unsigned mode;	      /* permission bits (07777) */
	int64_t mtime;	      /* seconds since the epoch */
	uint64_t size;	      /* TAR_FILE: the data bytes that follow; else 0 */
	const char *linkpath; /* TAR_SYMLINK: the target, stored as it is */
	uint64_t uid, gid;
};

/* Encodes the header blocks of e into out (TAR_HEADER_MAX bytes): a ustar
 * header, preceded by a pax extended header when a name, target, size, time
 * or id does not fit ustar or a name is not printable ASCII. Directories are
 * written with a trailing '/'. Sets *outlen (a multiple of TAR_BLOCK).
 * E_INVALID when the path or target is empty or longer than TAR_PATH_MAX. */
int tar_header_encode(uint8_t *out, size_t *outlen, const struct tar_entry *e);
/* The zero bytes that follow size bytes of data to the next block. */
size_t tar_padding(uint64_t size);

/* Checks an entry name read from an archive (trailing '/' already removed):
 * E_INTEGRITY naming the entry when it is empty, absolute, or has an empty,
 * "." or ".." component (tar-slip). "." alone (the folder) is accepted. */
int tar_check_path(const char *path);
/* Copies s into out (size n, n >= 8), quoted and with control characters
 * and '"' escaped C-style, cut with "..." when long: for messages. */
void tar_quote(char *out, size_t n, const char *s);

/* What the reader calls, in archive order. Each returns 0 or an err code,
 * which stops the reader and becomes its write's result. Any may be NULL. */
struct tar_reader_ops {
	/* A header, checked (tar_check_path, known type, sizes). */
	int (*entry)(void *ud, const struct tar_entry *e);
	/* The next n bytes of the current file's data. */
	int (*data)(void *ud, const uint8_t *p, size_t n);
	/* The current entry's data is complete. */
	int (*entry_end)(void *ud, const struct tar_entry *e);
};

/* A sink stage parsing a tar stream fed in any chunking. Bounded memory:
 * one block, one pax header and two names. Its finish fails (E_INTEGRITY)
 * unless the stream ended with the end-of-archive marker; corrupt headers,
 * bad checksums, unsupported entry types (E_UNSUPPORTED: hard links, devices,
 * fifos) and non-zero bytes after the end fail the write. ops and ud are
 * borrowed and must outlive the stage. */
struct stage *tar_reader_new(const struct tar_reader_ops *ops, void *ud);
/* The entries read so far, the folder's own "." entry not counted. */
uint64_t tar_reader_count(const struct stage *s);

#endif
