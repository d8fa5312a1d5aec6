/* Where a backup lives in storage and how to load its manifest: the storage
 * layout "<namespace>/<name>/manifest.json" plus the dump object. */
#ifndef LIFEBOAT_ARTIFACT_H
#define LIFEBOAT_ARTIFACT_H

#include "job/model/manifest.h"

struct store;

#define ARTIFACT_MANIFEST "manifest.json"
#define ARTIFACT_VERIFIED "verified.json"

/* Pure validators: Kubernetes names (DNS-1123 subdomain) and namespaces
 * (DNS-1123 label). E_INVALID naming the flag. */
int artifact_check_name(const char *name, const char *field);
int artifact_check_namespace(const char *ns, const char *field);
/* "ns/name/" + leaf; caller frees. */
char *artifact_key(const char *ns, const char *name, const char *leaf);
/* A backup attempt's own id: ARTIFACT_ATTEMPT_LEN lowercase hex digits from
 * the kernel's random source. Every attempt writes its data objects under
 * names of its own, so two runs of one backup at once (a lost pod still
 * running, an operator restart) never write the same object: the one that
 * creates the manifest first wins, the other removes its own objects. */
#define ARTIFACT_ATTEMPT_LEN 8
int artifact_attempt_id(char out[ARTIFACT_ATTEMPT_LEN + 1]);
/* "db-<attempt>.dump.zst.pgp" etc. for a format, compression suffix,
 * encryption and attempt id (NULL: "db.dump.zst.pgp", the name of backups
 * taken before attempt ids; readers take names from the manifest). */
char *artifact_dump_leaf(const char *format, const char *compress_suffix, int encrypted,
			 const char *attempt);
/* "files-<attempt>.tar.zst.pgp" etc.: the --files archive's object. */
char *artifact_files_leaf(const char *compress_suffix, int encrypted, const char *attempt);
/* Reads and parses the manifest: E_NOTFOUND (with a hint to `lifeboat list`)
 * when the backup does not exist or is incomplete. */
int artifact_load_manifest(struct manifest *out, struct store *st, const char *ns,
			   const char *name);

#endif
