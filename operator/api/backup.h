/* DatabaseBackup (lifeboat.dev/v1alpha1): its spec, and the parts of its
 * metadata the controller needs, parsed and validated (operator/api/blocks.h
 * says how). Pure: no I/O. */
#ifndef LIFEBOAT_API_BACKUP_H
#define LIFEBOAT_API_BACKUP_H

#include "operator/api/blocks.h"

#define API_BACKUP_KIND "DatabaseBackup"
/* Held while deletionPolicy Delete still has stored objects to remove. */
#define API_BACKUP_FINALIZER "lifeboat.dev/delete-stored-backup"

#define API_DEFAULT_FORMAT "custom"
#define API_DEFAULT_COMPRESSION "zstd:auto"
#define API_DEFAULT_DELETION_POLICY "Retain"

struct api_backup_spec {
	struct api_database database;
	struct api_storage storage;
	struct api_encryption encryption; /* passphrase.name NULL: not encrypted */
	char *format;			  /* custom | plain */
	char *compression;		  /* zstd:auto[:LO-HI] | zstd[:1-19] | gzip[:1-9] | none */
	int verify;
	struct api_files files; /* claim_name NULL: no files */
	char *deletion_policy;	/* Retain | Delete */
	struct api_job_template job_template;
};

struct api_backup {
	struct api_meta meta;
	struct api_backup_spec spec;
};

/* A DatabaseBackup spec (also a BackupSchedule's spec.backupTemplate.spec)
 * at path. Dispose *out after success. */
int api_backup_spec_parse(struct api_backup_spec *out, struct json_object *spec, const char *path);
void api_backup_spec_dispose(struct api_backup_spec *s);
/* A whole DatabaseBackup object (apiVersion and kind, when present, must be
 * ours; metadata and spec are required; status is not read). *out is a new
 * object the caller frees with api_backup_free. E_INVALID with the path. */
int api_backup_parse(struct api_backup **out, struct json_object *obj);
void api_backup_free(struct api_backup *b);
/* deletionPolicy is Delete: the stored objects go with the resource. */
int api_backup_deletes_storage(const struct api_backup *b);

#endif
