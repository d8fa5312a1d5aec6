/* Reading a stored backup back: store -> SHA-256 -> decrypt -> decompress ->
 * SHA-256 -> sink, then every check against the manifest. Shared by verify
 * and restore so both judge an artifact the same way. */
#ifndef LIFEBOAT_READBACK_H
#define LIFEBOAT_READBACK_H

#include <stddef.h>

#include "job/model/manifest.h"
#include "job/pipeline/stage.h"

struct store;

struct readback {
	struct stage *head;
	struct stage *stored_hash;
	struct stage *fuse;
	struct stage *plain_hash;
};

/* Builds the chain ending in sink (the readback owns sink from now on).
 * E_INVALID when the backup is encrypted and pass is NULL. */
int readback_init(struct readback *rb, const struct manifest *m, const char *pass, size_t passlen,
		  struct stage *sink);
/* Streams the manifest's dump object through the chain and checks size,
 * both SHA-256s, the MDC and the compression trailer. A corrupt object is
 * reported as a checksum mismatch (E_INTEGRITY) even when decryption failed
 * first, so a flipped bit is never mistaken for a wrong passphrase. */
/* The object is read from the folder ns/name that was asked for, whatever
 * names the manifest inside records (folders may be copied or renamed). */
int readback_run(struct readback *rb, struct store *st, const struct manifest *m, const char *ns,
		 const char *name);
/* The same for the manifest's files archive (m->files.key must be set), on a
 * readback of its own: a chain reads one object. */
int readback_run_files(struct readback *rb, struct store *st, const struct manifest *m,
		       const char *ns, const char *name);
/* Zero-safe: an all-zero readback (never initialised, or whose init
 * failed) holds nothing; a disposed one is all zeros again. */
void readback_dispose(struct readback *rb);

#endif
