/* DatabaseRestore (lifeboat.dev/v1alpha1): its spec, parsed and validated
 * (operator/api/blocks.h says how). What needs other objects (that the
 * backupRef backup exists and is Completed, confirm against a defaulted
 * target) is the restore controller's. Pure: no I/O. */
#ifndef LIFEBOAT_API_RESTORE_H
#define LIFEBOAT_API_RESTORE_H

#include "operator/api/backup.h"

#define API_RESTORE_KIND "DatabaseRestore"

struct api_restore_spec {
	char *backup_ref; /* a DatabaseBackup's name; NULL with source */
	int has_source;
	struct api_storage source_storage;
	char *source_namespace; /* source.path is <namespace>/<name> */
	char *source_name;
	struct api_encryption source_encryption;
	int has_target; /* required with source; else the backup's database */
	struct api_database target;
	char *confirm;
	int safety_enabled;
	int has_safety_storage; /* else the restored backup's storage */
	struct api_storage safety_storage;
	int clean;
	char *schema_policy;  /* Ignore | Warn | RequireMatch */
	char *ownership_mode; /* Keep | NoOwner */
	char *ownership_role; /* NULL: the connecting user */
	char *privileges;     /* Keep | Skip */
	struct api_files files;
	struct api_job_template job_template;
};

struct api_restore {
	struct api_meta meta;
	struct api_restore_spec spec;
};

/* A whole DatabaseRestore; *out is new, free it with api_restore_free.
 * E_INVALID naming the field. */
int api_restore_parse(struct api_restore **out, struct json_object *obj);
void api_restore_free(struct api_restore *r);

#endif
