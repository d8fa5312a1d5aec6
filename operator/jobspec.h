/* Pure builders: a parsed resource -> the batch/v1 Job that runs the lifeboat
 * job for it. No I/O, no clock: the same resource always gives the same Job
 * (and the same name), so a restarted operator finds and adopts its Job.
 *
 * What every Job gets:
 * - the job configured only by environment variables, named by the
 *   common/jobenv table; args are the command word alone ("backup"), never
 *   a value. Each container gets only the variables its command reads.
 * - credentials only as secretKeyRef env or Secret volumes: the operator
 *   never sees a secret value. The one composed value of a secret variable
 *   is LIFEBOAT_DB in the host form (postgresql://USER@HOST:PORT/DB, no
 *   password; the password goes as PGPASSWORD from its Secret). With
 *   connectionSecretRef the whole URI is a secretKeyRef and port, sslMode,
 *   CA and database become libpq's PGPORT, PGSSLMODE, PGSSLROOTCERT and
 *   PGDATABASE fallbacks. The passphrase is a Secret volume and
 *   LIFEBOAT_PASSPHRASE_FILE; CA bundles are Secret volumes.
 * - hardening: runAsNonRoot (uid and gid 65532 unless podSecurityContext
 *   says otherwise; fsGroup 65532 so Secret files mode 0440 are readable
 *   by any uid), readOnlyRootFilesystem with an emptyDir at /tmp,
 *   allowPrivilegeEscalation false, capabilities drop ALL, seccomp
 *   RuntimeDefault, no service-account token, no service links,
 *   restartPolicy Never.
 * - terminationMessagePath /dev/termination-log with FallbackToLogsOnError:
 *   the job's JSON result (common/jobresult) is each container's
 *   termination message.
 * - an ownerReference to the resource (controller, blockOwnerDeletion), the
 *   labels app.kubernetes.io/{name,component,managed-by,instance} and
 *   lifeboat.dev/backup on the Job and its pod, plus jobTemplate.podLabels
 *   and the operator's own labels (the builder's labels win).
 * - every jobTemplate setting; a podFailurePolicy that fails the Job at once
 *   on the job's permanent exit statuses (InvalidInput, IntegrityCheckFailed,
 *   WrongPassphrase, VersionMismatch, NotFound, AlreadyExists, Unsupported:
 *   retrying cannot help) and retries the others up to backoffLimit.
 *
 * verify: true. `lifeboat backup` has no verify flag (docs/job.md), so the
 * Job chains the two commands in one pod without a shell: `backup` is an
 * init container and `verify` the container, which runs only once backup
 * exited 0. Each writes its own result, so the backup's is the init
 * container's termination message and the verification's the container's
 * (the Verifying phase is "init done, verify running"). A failed verify
 * fails the Job at once (podFailurePolicy): a retry would run backup again
 * into an existing backup. verify: false leaves a single `backup` container.
 *
 * storage.volume: the claim is mounted at JOBSPEC_VOLUME_PATH with the
 * spec's subPath (the CRD promises the kubelet creates a missing subPath)
 * and LIFEBOAT_STORAGE is file:///backup-volume.
 *
 * spec.files: the claim is mounted read-only at JOBSPEC_FILES_PATH in the
 * backup container only, and LIFEBOAT_FILES is JOBSPEC_FILES_PATH/<path>;
 * the files object is verified from storage, the delete removes it. */
#ifndef LIFEBOAT_JOBSPEC_H
#define LIFEBOAT_JOBSPEC_H

#include <stddef.h>

struct json_object;
struct api_backup;
struct api_database;
struct api_encryption;
struct api_kv;
struct api_restore;
struct api_storage;

#define JOBSPEC_CONTAINER_BACKUP "backup"
#define JOBSPEC_CONTAINER_VERIFY "verify"
#define JOBSPEC_CONTAINER_DELETE "delete"
#define JOBSPEC_CONTAINER_RESTORE "restore"
#define JOBSPEC_SUFFIX_BACKUP "backup"
#define JOBSPEC_SUFFIX_DELETE "delete"
#define JOBSPEC_SUFFIX_RESTORE "restore"
#define JOBSPEC_VOLUME_PATH "/backup-volume"
#define JOBSPEC_FILES_PATH "/files"
#define JOBSPEC_TERMINATION_PATH "/dev/termination-log"
#define JOBSPEC_DEFAULT_UID 65532
/* A Job's name becomes the value of its pods' job-name label: 63 at most. */
#define JOBSPEC_NAME_MAX 63

#define JOBSPEC_LABEL_NAME "app.kubernetes.io/name"
#define JOBSPEC_LABEL_COMPONENT "app.kubernetes.io/component"
#define JOBSPEC_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define JOBSPEC_LABEL_INSTANCE "app.kubernetes.io/instance"
#define JOBSPEC_LABEL_BACKUP "lifeboat.dev/backup"
#define JOBSPEC_LABEL_RESTORE "lifeboat.dev/restore"

/* What the operator's own settings add. Everything is borrowed. */
struct jobspec_opts {
	const char *image;	     /* --job-image; jobTemplate.image wins */
	const char *service_account; /* --job-service-account; jobTemplate's wins */
	const struct api_kv *labels; /* extra labels for every Job and pod */
	size_t nlabels;
};

/* The Job of `lifeboat backup` (then `lifeboat verify` with verify: true) for
 * b. *out is a new json-c object the caller releases with json_object_put.
 * E_INVALID when no image is configured, a field cannot be expressed (the
 * message names it), or an operator label is not a valid label. */
int jobspec_backup(struct json_object **out, const struct api_backup *b,
		   const struct jobspec_opts *o);
/* The Job of `lifeboat delete` for b (deletionPolicy Delete); E_INVALID for
 * Retain, so a slip in a controller can never delete a retained backup. */
int jobspec_delete(struct json_object **out, const struct api_backup *b,
		   const struct jobspec_opts *o);
/* A restore Job's inputs the controller resolved. All borrowed. */
struct jobspec_restore_in {
	const struct api_restore *restore;
	/* the backup restored: its folder <namespace>/<name>, its storage and
	 * passphrase (from the DatabaseBackup, or spec.source) */
	const char *backup_namespace, *backup_name;
	const struct api_storage *storage;
	const struct api_encryption *encryption;
	const struct api_database *target; /* spec.target, else the backup's */
	const char *schema_version_query;  /* the backup's, when target has none */
	const char *requested_by;	   /* status.requestedBy */
	/* the safety backup's name, folder and sha256; name NULL: disabled */
	const char *safety_name, *safety_location, *safety_sha256;
};

/* The Job of `lifeboat restore` for a DatabaseRestore: one container
 * JOBSPEC_CONTAINER_RESTORE, backoffLimit 0 whatever jobTemplate says, the
 * label lifeboat.dev/restore, owned by the restore; LIFEBOAT_CONFIRM,
 * LIFEBOAT_CLEAN, LIFEBOAT_SCHEMA_POLICY, ownership and privileges, the
 * audit record's LIFEBOAT_RESTORE_NAME/NAMESPACE, LIFEBOAT_REQUESTED_BY and
 * the safety backup's facts (or LIFEBOAT_NO_SAFETY_BACKUP). spec.files: the
 * claim read-write at JOBSPEC_FILES_PATH, LIFEBOAT_FILES the folder in it
 * (a path is required: E_INVALID naming spec.files.path). */
int jobspec_restore(struct json_object **out, const struct jobspec_restore_in *in,
		    const struct jobspec_opts *o);
/* "<resource>-<suffix>", or when that passes JOBSPEC_NAME_MAX the start of
 * resource, a hash of all of it, and the suffix: "very-lo...-1a2b3c4d-backup".
 * The same input always gives the same name. Caller frees. */
char *jobspec_job_name(const char *resource, const char *suffix);
/* value itself when it has at most max characters, else its start (without
 * a trailing '-', '.' or '_'), "-" and a hash of all of it: at most max
 * characters, the same every time. Caller frees. */
char *jobspec_shorten(const char *value, size_t max);
/* value as a label value: jobspec_shorten(value, 63). Caller frees. */
char *jobspec_label_value(const char *value);

#endif
