/* Where a backup lives in storage and how to load its manifest: the storage
 * layout "<namespace>/<name>/manifest.json" plus the dump object. */
#ifndef LIFEBOAT_ARTIFACT_H
#define LIFEBOAT_ARTIFACT_H

#include "manifest.h"

struct store;

#define ARTIFACT_MANIFEST "manifest.json"
#define ARTIFACT_VERIFIED "verified.json"

/* Pure validators: Kubernetes names (DNS-1123 subdomain) and namespaces
 * (DNS-1123 label). E_INVALID naming the flag. */
int artifact_check_name(const char *name, const char *field);
int artifact_check_namespace(const char *ns, const char *field);
/* "ns/name/" + leaf; caller frees. */
char *artifact_key(const char *ns, const char *name, const char *leaf);
/* "db.dump.zst.pgp" etc. for a format, compression suffix and encryption. */
char *artifact_dump_leaf(const char *format, const char *compress_suffix, int encrypted);
/* "files.tar.zst.pgp" etc.: the --files archive's object. */
char *artifact_files_leaf(const char *compress_suffix, int encrypted);
/* Reads and parses the manifest: E_NOTFOUND (with a hint to `lifeboat list`)
 * when the backup does not exist or is incomplete. */
int artifact_load_manifest(struct manifest *out, struct store *st, const char *ns, const char *name);

#endif
