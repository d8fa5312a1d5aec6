/* The blocks the three kinds share (crds/gen.py's shared blocks: database,
 * storage, encryption, files, jobTemplate), object metadata and status
 * conditions: parsed from json-c objects into C structs with the CRD's
 * defaults applied, and validated against everything the CRD says plus what
 * a schema cannot say. Pure: no I/O.
 *
 * operator/api/ is one module with the prefix api_: blocks.c holds what the
 * kinds share, backup.c, schedule.c and restore.c one kind each.
 *
 * Every parser takes the JSON path of the object it reads ("spec.database")
 * and fails with E_INVALID and a message that starts with the path of the
 * offending field and says what is wrong, e.g.
 *   spec.storage.s3.bucket: "A_B" is not a valid bucket name (3-255 of a-z, ...)
 * On failure the out struct is left as it was (nothing to dispose); on
 * success the caller disposes it. Values quoted in messages are never
 * secrets: a spec holds only references to Secrets. */
#ifndef LIFEBOAT_API_BLOCKS_H
#define LIFEBOAT_API_BLOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct json_object;

#define API_GROUP "lifeboat.dev"
#define API_VERSION "v1alpha1"
#define API_GROUP_VERSION "lifeboat.dev/v1alpha1"

/* Defaults, as in the CRDs. */
#define API_DEFAULT_PORT 5432
#define API_DEFAULT_SSL_MODE "prefer"
#define API_DEFAULT_CONNECT_TIMEOUT 10
#define API_DEFAULT_ACCESS_KEY_ID_KEY "AWS_ACCESS_KEY_ID"
#define API_DEFAULT_SECRET_ACCESS_KEY_KEY "AWS_SECRET_ACCESS_KEY"
#define API_DEFAULT_ACTIVE_DEADLINE 3600
#define API_DEFAULT_BACKOFF_LIMIT 1
#define API_DEFAULT_LOG_LEVEL "info"
/* The job keeps an Azure prefix to this many characters (job/store/azure.c). */
#define API_AZURE_PREFIX_MAX 512
/* S3 keys and Azure blob names are at most this many bytes. */
#define API_OBJECT_KEY_MAX 1024

/* A key and its value (labels, annotations, nodeSelector, quantities). */
struct api_kv {
	char *key;
	char *value;
};

/* {name, key} of a Secret in the resource's namespace; set when name != NULL. */
struct api_secret_ref {
	char *name;
	char *key;
};

struct api_database {
	char *engine; /* "postgresql" */
	struct api_secret_ref connection;
	char *host; /* exactly one of host and connection */
	int port;
	char *user;
	struct api_secret_ref password;
	char *database; /* required with host; a fallback with connection */
	char *ssl_mode;
	struct api_secret_ref ca;
	int connect_timeout_seconds;
	char *schema_version_query; /* NULL when unset */
};

enum api_storage_kind {
	API_STORAGE_NONE = 0,
	API_STORAGE_S3,
	API_STORAGE_AZURE,
	API_STORAGE_GCS,
	API_STORAGE_VOLUME,
};

/* S3's and GCS's HMAC key: the Secret and which of its keys hold what. */
struct api_s3_credentials {
	char *name;
	char *access_key_id_key;
	char *secret_access_key_key;
	char *session_token_key; /* S3 only; NULL when unset */
};

struct api_s3 {
	char *bucket;
	char *prefix; /* NULL: the bucket's root */
	char *endpoint;
	char *region;
	int force_path_style;
	char *server_side_encryption; /* AES256 | aws:kms | NULL */
	char *kms_key_id;
	char *storage_class;
	struct api_secret_ref ca;
	struct api_s3_credentials credentials;
};

struct api_azure_credentials {
	char *name;
	/* exactly one of: */
	char *account_key_key;
	char *sas_token_key;
	char *connection_string_key;
};

struct api_azure {
	char *container;
	char *prefix;
	char *account_name; /* NULL only with a connection string */
	char *endpoint;
	struct api_secret_ref ca;
	struct api_azure_credentials credentials;
};

struct api_gcs {
	char *bucket;
	char *prefix;
	char *endpoint; /* NULL: https://storage.googleapis.com */
	/* One of two forms: a service account's JSON key (credentials.name and
	 * service_account_key_key set, the HMAC keys NULL), or an HMAC key
	 * (credentials with its two keys, defaults applied). */
	char *service_account_key_key;
	struct api_s3_credentials credentials;
};

struct api_volume {
	char *claim_name;
	char *sub_path; /* NULL: the volume's root */
};

/* Exactly one backend; kind says which member is filled. */
struct api_storage {
	enum api_storage_kind kind;
	struct api_s3 s3;
	struct api_azure azure;
	struct api_gcs gcs;
	struct api_volume volume;
};

/* Set when passphrase.name != NULL; unset means "not encrypted". */
struct api_encryption {
	struct api_secret_ref passphrase;
};

/* Set when claim_name != NULL. */
struct api_files {
	char *claim_name;
	char *path;
};

struct api_toleration {
	char *key;
	char *operator_; /* Exists | Equal | NULL */
	char *value;
	char *effect;
	int64_t toleration_seconds;
	int has_toleration_seconds;
};

struct api_pod_security {
	int64_t run_as_user, run_as_group, fs_group;
	int has_run_as_user, has_run_as_group, has_fs_group;
	int64_t *supplemental_groups;
	size_t nsupplemental_groups;
};

struct api_job_template {
	char *image;
	char *image_pull_policy;
	char **image_pull_secrets;
	size_t nimage_pull_secrets;
	char *service_account_name;
	struct api_kv *requests; /* resource name -> quantity text */
	size_t nrequests;
	struct api_kv *limits;
	size_t nlimits;
	struct api_kv *node_selector;
	size_t nnode_selector;
	struct api_toleration *tolerations;
	size_t ntolerations;
	struct json_object *affinity; /* an owned deep copy, or NULL */
	char *priority_class_name;
	struct api_kv *pod_labels;
	size_t npod_labels;
	struct api_kv *pod_annotations;
	size_t npod_annotations;
	struct api_pod_security pod_security;
	int64_t active_deadline_seconds;
	int backoff_limit;
	int ttl_seconds_after_finished;
	int has_ttl_seconds_after_finished;
	char *log_level;
};

/* The parts of metadata the controllers use. */
struct api_meta {
	char *name;
	char *namespace_;
	char *uid;
	int64_t generation;
	char *resource_version;	  /* NULL when absent */
	char *deletion_timestamp; /* NULL unless the object is being deleted */
	char **finalizers;
	size_t nfinalizers;
	struct api_kv *labels;
	size_t nlabels;
};

/* --- the blocks --- */

int api_database_parse(struct api_database *out, struct json_object *o, const char *path);
void api_database_dispose(struct api_database *d);
int api_storage_parse(struct api_storage *out, struct json_object *o, const char *path);
void api_storage_dispose(struct api_storage *s);
/* The storage prefix (or volume subPath) of s, NULL when it has none. */
const char *api_storage_prefix(const struct api_storage *s);
/* The CRD's name of the backend ("s3", "azure", "gcs", "volume"). */
const char *api_storage_kind_name(enum api_storage_kind kind);
int api_encryption_parse(struct api_encryption *out, struct json_object *o, const char *path);
void api_encryption_dispose(struct api_encryption *e);
int api_files_parse(struct api_files *out, struct json_object *o, const char *path);
void api_files_dispose(struct api_files *f);
/* o may be NULL (the CRD's default {}): the defaults are filled in. */
int api_job_template_parse(struct api_job_template *out, struct json_object *o, const char *path);
void api_job_template_dispose(struct api_job_template *t);
/* metadata of a namespaced object: name (DNS-1123 subdomain), namespace
 * (DNS-1123 label) and uid are required. */
int api_meta_parse(struct api_meta *out, struct json_object *o, const char *path);
void api_meta_dispose(struct api_meta *m);
int api_meta_has_finalizer(const struct api_meta *m, const char *finalizer);
/* The head of a whole object of kind: a JSON object whose apiVersion and
 * kind, when present, are ours, with metadata (parsed into *meta, which the
 * caller disposes after success) and a spec (*spec, borrowed from obj). */
int api_object_head(struct api_meta *meta, struct json_object **spec, struct json_object *obj,
		    const char *kind);
/* E_INVALID unless the longest object key a backup named ns/name can have
 * under this storage's prefix fits API_OBJECT_KEY_MAX (and, on a volume,
 * every path component fits NAME_MAX). path names the storage block. */
int api_storage_check_keys(const struct api_storage *s, const char *path, const char *ns,
			   const char *name);

/* --- conditions (status.conditions, the metav1.Condition shape) --- */

struct api_condition {
	const char *type;   /* Ready */
	const char *status; /* True | False | Unknown */
	const char *reason; /* CamelCase */
	const char *message;
	int64_t observed_generation;
};

/* Sets c in conditions (a json-c array, changed in place): the entry of the
 * same type is replaced, or one added. lastTransitionTime is now when the
 * status changed or the entry is new, else the old one is kept. The message
 * is cut to the CRD's 32768 bytes (at a UTF-8 boundary). Returns 1 when
 * anything changed, 0 when conditions already said this, E_INVALID for a
 * type, status or reason the CRD would refuse. */
int api_conditions_set(struct json_object *conditions, const struct api_condition *c, time_t now);
/* The status ("True", ...) of the condition of that type, or NULL. Borrowed. */
const char *api_conditions_status(struct json_object *conditions, const char *type);
/* Its reason, likewise. */
const char *api_conditions_reason(struct json_object *conditions, const char *type);

/* --- field readers, for the kinds' parsers --- */

/* Each reads o[key] (o a JSON object); an absent or null field leaves *out
 * unchanged and returns 0. Wrong types, NUL characters, lengths and values
 * outside the bounds are E_INVALID naming path.key. */
int api_field_string(char **out, struct json_object *o, const char *path, const char *key,
		     size_t min, size_t max);
int api_field_enum(char **out, struct json_object *o, const char *path, const char *key,
		   const char *const values[]);
int api_field_int(int64_t *out, struct json_object *o, const char *path, const char *key,
		  int64_t min, int64_t max);
int api_field_bool(int *out, struct json_object *o, const char *path, const char *key);
/* *out is borrowed from o; E_INVALID unless an object. */
int api_field_object(struct json_object **out, struct json_object *o, const char *path,
		     const char *key);
/* E_INVALID naming the first key of o not in known (NULL-terminated). */
int api_check_known(struct json_object *o, const char *path, const char *const known[]);
/* A string map whose keys are label keys and whose values pass the label
 * value rule (labels, nodeSelector) or any text up to value_max
 * (annotations): label_values chooses. Keys under lifeboat.dev/ are refused
 * when no_lifeboat is set. */
int api_field_labels(struct api_kv **out, size_t *n, struct json_object *o, const char *path,
		     const char *key, size_t max_entries, int label_values, int no_lifeboat);
void api_kv_free(struct api_kv *kv, size_t n);

/* --- validators (pure; 1 when valid) --- */
int api_valid_dns_subdomain(const char *s, size_t max);
int api_valid_dns_label(const char *s);
int api_valid_secret_key(const char *s);
int api_valid_label_key(const char *s);
int api_valid_label_value(const char *s);
/* Folders separated by single slashes, an optional trailing slash, no '.' or
 * '..' folder, none of ? # \ or control characters. */
int api_valid_rel_path(const char *s);

#endif
