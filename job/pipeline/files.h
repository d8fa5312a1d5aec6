/* The --files folder: archiving it as tar into a stage (backup), and putting
 * it back from a tar stream (restore) through a fresh sibling folder that is
 * renamed into place only once the whole archive has been checked. The file
 * system shell around the pure job/pipeline/tar.c. Bounded memory: one chunk, one
 * header and one path, whatever the number or size of the files. */
#ifndef LIFEBOAT_FILES_H
#define LIFEBOAT_FILES_H

#include <stdint.h>

#include "job/pipeline/stage.h"

/* Deepest folder nesting archived or extracted (one open folder per level). */
#define FILES_MAX_DEPTH 256

/* E_INVALID naming --files unless dir is an existing directory. */
int files_check_source(const char *dir);
/* Writes dir as a tar stream into sink (stage_write only; the caller
 * finishes): regular files, directories and symlinks (stored as links,
 * never followed) with modes and mtimes, each directory after its contents
 * and the folder itself last as "."; fifos, sockets and devices are skipped
 * with a warning. *count receives the entries written, "." not counted.
 * E_IO naming the path for unreadable entries or a file that shrank while
 * it was read; E_INVALID for names or targets past TAR_PATH_MAX or nesting
 * past FILES_MAX_DEPTH. */
int files_archive(uint64_t *count, const char *dir, struct stage *sink);
/* The walk of files_archive without reading a file: *bytes receives the
 * length of the tar stream files_archive would write now (headers, contents,
 * padding, the end), *count its entries. Errors as files_archive's. */
int files_measure(uint64_t *bytes, uint64_t *count, const char *dir);

struct files_restore;

/* Prepares restoring into dir: dir must be absent or a directory, its parent
 * a directory; creates the empty sibling ".<base>.lifeboat-XXXXXX" there.
 * Caller frees with files_restore_free. E_INVALID or E_IO naming the path. */
int files_restore_new(struct files_restore **out, const char *dir);
/* A new tar reader stage (tar_reader_count works on it) extracting into the
 * sibling folder; the caller's chain owns it, fr must outlive it. Entries
 * that would be written through a symlink are refused (E_INTEGRITY, naming
 * the entry); setuid and setgid bits are dropped; ownership is not kept. */
struct stage *files_restore_sink(struct files_restore *fr);
/* After the archive was read and checked to its end: puts the sibling in
 * place of dir with one atomic rename (an exchange when dir exists, then the
 * old tree is removed). E_IO naming the paths; dir is then as it was. */
int files_restore_commit(struct files_restore *fr);
/* Removes the sibling folder unless committed, and frees. NULL is a no-op. */
void files_restore_free(struct files_restore *fr);

#endif
