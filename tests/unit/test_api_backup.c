/* Tests for operator/api/backup.c and blocks.c: defaults exactly as the CRD
 * applies them, every validation rule with a negative case (the CRD's and
 * those only the operator can check), and a fuzz loop of random mutations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "operator/api/backup.h"
#include "tests/unit/api_testlib.h"

static const char good[] =
    "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseBackup\","
    "\"metadata\":{\"name\":\"nightly\",\"namespace\":\"app\",\"uid\":\"u-1\",\"generation\":2,"
    "\"resourceVersion\":\"77\",\"finalizers\":[\"lifeboat.dev/delete-stored-backup\"],"
    "\"labels\":{\"team\":\"db\"},\"creationTimestamp\":\"2026-11-21T02:00:00Z\"},"
    "\"spec\":{"
    "\"database\":{\"host\":\"db.app.svc\",\"user\":\"app\","
    "\"passwordSecretRef\":{\"name\":\"app-db\",\"key\":\"password\"},\"database\":\"app\"},"
    "\"storage\":{\"s3\":{\"bucket\":\"acme-backups\",\"prefix\":\"prod\",\"region\":\"eu-west-1\","
    "\"credentialsSecretRef\":{\"name\":\"backup-s3\"}}},"
    "\"encryption\":{\"passphraseSecretRef\":{\"name\":\"backup-passphrase\",\"key\":"
    "\"passphrase\"}}"
    "},\"status\":{\"phase\":\"Running\",\"whatever\":1}}";

/* Every jobTemplate setting, valid. */
static const char full_job_template[] =
    "{\"image\":\"ghcr.io/acme/lifeboat:0.4.0\",\"imagePullPolicy\":\"IfNotPresent\","
    "\"imagePullSecrets\":[{\"name\":\"regcred\"},{\"name\":\"other\"}],"
    "\"serviceAccountName\":\"backup-sa\","
    "\"resources\":{\"requests\":{\"memory\":\"128Mi\",\"cpu\":\"250m\"},"
    "\"limits\":{\"memory\":\"256Mi\",\"cpu\":2,\"ephemeral-storage\":\"1e3\"}},"
    "\"nodeSelector\":{\"kubernetes.io/arch\":\"amd64\",\"disk\":\"\"},"
    "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"backup\","
    "\"effect\":\"NoExecute\",\"tolerationSeconds\":60},{\"operator\":\"Exists\"}],"
    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
    "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
    "\"values\":[\"a\"]}]}]}}},"
    "\"priorityClassName\":\"backup-low\",\"podLabels\":{\"team\":\"db\",\"example.com/"
    "tier\":\"x\"},"
    "\"podAnnotations\":{\"sidecar.istio.io/inject\":\"false\"},"
    "\"podSecurityContext\":{\"runAsUser\":1000,\"runAsGroup\":1000,\"fsGroup\":2000,"
    "\"supplementalGroups\":[3000,3001]},\"activeDeadlineSeconds\":7200,\"backoffLimit\":0,"
    "\"ttlSecondsAfterFinished\":86400,\"logLevel\":\"debug\"}";

static int parse_text(struct api_backup **out, const char *text)
{
	struct json_object *o = tl_json(text);
	int rc = api_backup_parse(out, o);
	json_object_put(o);
	return rc;
}

static void api_backup_parse__applies_the_crd_defaults(void **state)
{
	(void)state;
	struct api_backup *b = NULL;
	int rc = parse_text(&b, good);
	if (rc)
		fail_msg("%s", err_msg());
	assert_string_equal(b->meta.name, "nightly");
	assert_string_equal(b->meta.namespace_, "app");
	assert_string_equal(b->meta.uid, "u-1");
	assert_int_equal(b->meta.generation, 2);
	assert_string_equal(b->meta.resource_version, "77");
	assert_null(b->meta.deletion_timestamp);
	assert_true(api_meta_has_finalizer(&b->meta, API_BACKUP_FINALIZER));
	assert_false(api_meta_has_finalizer(&b->meta, "other"));
	assert_int_equal(b->meta.nlabels, 1);
	const struct api_database *d = &b->spec.database;
	assert_string_equal(d->engine, "postgresql");
	assert_int_equal(d->port, 5432);
	assert_string_equal(d->ssl_mode, "prefer");
	assert_int_equal(d->connect_timeout_seconds, 10);
	assert_null(d->connection.name);
	assert_null(d->ca.name);
	assert_null(d->schema_version_query);
	assert_string_equal(d->password.key, "password");
	assert_int_equal(b->spec.storage.kind, API_STORAGE_S3);
	const struct api_s3 *s3 = &b->spec.storage.s3;
	assert_string_equal(s3->credentials.access_key_id_key, "AWS_ACCESS_KEY_ID");
	assert_string_equal(s3->credentials.secret_access_key_key, "AWS_SECRET_ACCESS_KEY");
	assert_null(s3->credentials.session_token_key);
	assert_false(s3->force_path_style);
	assert_null(s3->endpoint);
	assert_string_equal(api_storage_prefix(&b->spec.storage), "prod");
	assert_string_equal(b->spec.format, "custom");
	assert_string_equal(b->spec.compression, "zstd:auto");
	assert_true(b->spec.verify);
	assert_null(b->spec.files.claim_name);
	assert_string_equal(b->spec.deletion_policy, "Retain");
	assert_false(api_backup_deletes_storage(b));
	const struct api_job_template *t = &b->spec.job_template;
	assert_int_equal(t->active_deadline_seconds, 3600);
	assert_int_equal(t->backoff_limit, 1);
	assert_false(t->has_ttl_seconds_after_finished);
	assert_string_equal(t->log_level, "info");
	assert_null(t->image);
	assert_null(t->affinity);
	api_backup_free(b);
	api_backup_free(NULL);
}

static void api_backup_parse__reads_every_job_template_setting(void **state)
{
	(void)state;
	struct json_object *o = tl_json(good);
	tl_set(o, "spec.jobTemplate", full_job_template);
	tl_set(o, "spec.deletionPolicy", "\"Delete\"");
	struct api_backup *b = NULL;
	int rc = api_backup_parse(&b, o);
	json_object_put(o);
	if (rc)
		fail_msg("%s", err_msg());
	const struct api_job_template *t = &b->spec.job_template;
	assert_string_equal(t->image, "ghcr.io/acme/lifeboat:0.4.0");
	assert_string_equal(t->image_pull_policy, "IfNotPresent");
	assert_int_equal(t->nimage_pull_secrets, 2);
	assert_string_equal(t->image_pull_secrets[1], "other");
	assert_string_equal(t->service_account_name, "backup-sa");
	/* Maps come out sorted by key; an integer quantity becomes text. */
	assert_int_equal(t->nrequests, 2);
	assert_string_equal(t->requests[0].key, "cpu");
	assert_string_equal(t->requests[0].value, "250m");
	assert_int_equal(t->nlimits, 3);
	assert_string_equal(t->limits[0].key, "cpu");
	assert_string_equal(t->limits[0].value, "2");
	assert_string_equal(t->limits[1].value, "1e3");
	assert_int_equal(t->nnode_selector, 2);
	assert_string_equal(t->node_selector[0].key, "disk");
	assert_int_equal(t->ntolerations, 2);
	assert_true(t->tolerations[0].has_toleration_seconds);
	assert_int_equal(t->tolerations[0].toleration_seconds, 60);
	assert_null(t->tolerations[1].key);
	assert_non_null(t->affinity);
	assert_string_equal(t->priority_class_name, "backup-low");
	assert_int_equal(t->npod_labels, 2);
	assert_string_equal(t->pod_labels[0].key, "example.com/tier");
	assert_int_equal(t->npod_annotations, 1);
	assert_true(t->pod_security.has_run_as_user);
	assert_int_equal(t->pod_security.run_as_user, 1000);
	assert_int_equal(t->pod_security.fs_group, 2000);
	assert_int_equal(t->pod_security.nsupplemental_groups, 2);
	assert_int_equal(t->active_deadline_seconds, 7200);
	assert_int_equal(t->backoff_limit, 0);
	assert_true(t->has_ttl_seconds_after_finished);
	assert_int_equal(t->ttl_seconds_after_finished, 86400);
	assert_string_equal(t->log_level, "debug");
	assert_true(api_backup_deletes_storage(b));
	api_backup_free(b);
}

struct edit {
	const char *path;
	const char *value; /* JSON text; NULL deletes */
};

static const struct rule_case {
	const char *name;
	struct edit edits[4];
	const char *error; /* a substring of the message; NULL: valid */
} cases[] = {
    /* valid variants */
    {"base", {{0}}, NULL},
    {"ipv6 in brackets", {{"spec.database.host", "\"[fd00::1]\""}}, NULL},
    {"ipv6 bare", {{"spec.database.host", "\"fd00::1\""}}, NULL},
    {"ipv4", {{"spec.database.host", "\"10.0.0.5\""}}, NULL},
    {"fqdn with final dot", {{"spec.database.host", "\"db.app.svc.cluster.local.\""}}, NULL},
    {"connection string form",
     {{"spec.database", "{\"connectionSecretRef\":{\"name\":\"app-db-app\",\"key\":\"uri\"},"
			"\"port\":6432,\"sslMode\":\"require\"}"}},
     NULL},
    {"verify-full with a CA",
     {{"spec.database.sslMode", "\"verify-full\""},
      {"spec.database.caSecretRef", "{\"name\":\"db-ca\",\"key\":\"ca.crt\"}"}},
     NULL},
    {"azure connection string names the account",
     {{"spec.storage", "{\"azure\":{\"container\":\"backups\",\"credentialsSecretRef\":"
		       "{\"name\":\"az\",\"connectionStringKey\":\"cs\"}}}"}},
     NULL},
    {"azure key with account",
     {{"spec.storage",
       "{\"azure\":{\"container\":\"back-ups\",\"accountName\":\"acme1\","
       "\"endpoint\":\"http://azurite:10000/devstoreaccount1\",\"credentialsSecretRef\":"
       "{\"name\":\"az\",\"accountKeyKey\":\"key\"}}}"}},
     NULL},
    {"gcs",
     {{"spec.storage",
       "{\"gcs\":{\"bucket\":\"acme_gcs.b\",\"credentialsSecretRef\":{\"name\":\"g\"}}}"}},
     NULL},
    {"gcs service-account key and an endpoint",
     {{"spec.storage",
       "{\"gcs\":{\"bucket\":\"acme\",\"endpoint\":\"https://storage.example:8443/\","
       "\"credentialsSecretRef\":{\"name\":\"g\",\"serviceAccountKeyKey\":\"key.json\"}}}"}},
     NULL},
    {"volume with a trailing slash",
     {{"spec.storage", "{\"volume\":{\"claimName\":\"db-backups\",\"subPath\":\"app/\"}}"}},
     NULL},
    {"gzip:9", {{"spec.compression", "\"gzip:9\""}}, NULL},
    {"zstd:19", {{"spec.compression", "\"zstd:19\""}}, NULL},
    {"zstd", {{"spec.compression", "\"zstd\""}}, NULL},
    {"none", {{"spec.compression", "\"none\""}}, NULL},
    {"zstd:auto", {{"spec.compression", "\"zstd:auto\""}}, NULL},
    {"zstd:auto:1-6", {{"spec.compression", "\"zstd:auto:1-6\""}}, NULL},
    {"zstd:auto:19-19", {{"spec.compression", "\"zstd:auto:19-19\""}}, NULL},
    {"prefix with spaces and plus", {{"spec.storage.s3.prefix", "\"prod backups/a+b%\""}}, NULL},
    {"kms",
     {{"spec.storage.s3.serverSideEncryption", "\"aws:kms\""},
      {"spec.storage.s3.kmsKeyId", "\"arn:aws:kms:eu-west-1:1:key/1\""}},
     NULL},
    {"no encryption", {{"spec.encryption", NULL}}, NULL},
    {"null fields are absent", {{"spec.format", "null"}, {"spec.jobTemplate", "null"}}, NULL},
    {"files", {{"spec.files", "{\"claimName\":\"uploads\",\"path\":\"media\"}"}}, NULL},

    /* the object */
    {"metadata missing", {{"metadata", NULL}}, "metadata: required"},
    {"metadata not an object", {{"metadata", "[]"}}, "metadata: must be an object, not a list"},
    {"bad name",
     {{"metadata.name", "\"Bad_Name\""}},
     "metadata.name: \"Bad_Name\" is not a valid name"},
    {"bad namespace",
     {{"metadata.namespace", "\"a.b\""}},
     "metadata.namespace: \"a.b\" is not a valid namespace"},
    {"no uid", {{"metadata.uid", NULL}}, "metadata.uid: required"},
    {"negative generation",
     {{"metadata.generation", "-1"}},
     "metadata.generation: -1 is out of range"},
    {"finalizer not a string",
     {{"metadata.finalizers", "[1]"}},
     "metadata.finalizers[0]: must be a string"},
    {"spec missing", {{"spec", NULL}}, "spec: required"},
    {"apiVersion", {{"apiVersion", "\"v1\""}}, "apiVersion: \"v1\" is not lifeboat.dev/v1alpha1"},
    {"kind", {{"kind", "\"Pod\""}}, "kind: \"Pod\" is not DatabaseBackup"},
    {"unknown spec field", {{"spec.schedule", "\"@daily\""}}, "spec: unknown field \"schedule\""},

    /* database */
    {"database missing", {{"spec.database", NULL}}, "spec.database: required"},
    {"engine",
     {{"spec.database.engine", "\"mysql\""}},
     "spec.database.engine: \"mysql\" is not one of postgresql"},
    {"host and connection",
     {{"spec.database.connectionSecretRef", "{\"name\":\"a\",\"key\":\"b\"}"}},
     "spec.database: set exactly one of connectionSecretRef and host, not both"},
    {"neither host nor connection",
     {{"spec.database.host", NULL}},
     "spec.database: set exactly one of connectionSecretRef (a Secret holding a libpq URI) and "
     "host"},
    {"user with connection",
     {{"spec.database.host", NULL},
      {"spec.database.passwordSecretRef", NULL},
      {"spec.database.connectionSecretRef", "{\"name\":\"a\",\"key\":\"b\"}"}},
     "spec.database: user and passwordSecretRef go with host"},
    {"host without user",
     {{"spec.database.user", NULL}},
     "spec.database.user: required: user is required with host"},
    {"host without database",
     {{"spec.database.database", NULL}},
     "spec.database.database: required: database is required with host"},
    {"verify-ca without CA",
     {{"spec.database.sslMode", "\"verify-ca\""}},
     "spec.database.caSecretRef: required: sslMode verify-ca and verify-full need caSecretRef"},
    {"sslMode",
     {{"spec.database.sslMode", "\"strict\""}},
     "spec.database.sslMode: \"strict\" is not one of disable"},
    {"port too big",
     {{"spec.database.port", "70000"}},
     "spec.database.port: 70000 is out of range 1 to 65535"},
    {"port zero", {{"spec.database.port", "0"}}, "spec.database.port: 0 is out of range"},
    {"port string",
     {{"spec.database.port", "\"5432\""}},
     "spec.database.port: must be an integer, not a string"},
    {"port float",
     {{"spec.database.port", "5432.0"}},
     "spec.database.port: must be an integer, not a decimal number"},
    {"port huge", {{"spec.database.port", "99999999999999999999"}}, "spec.database.port: "},
    {"host underscore",
     {{"spec.database.host", "\"db_app\""}},
     "spec.database.host: \"db_app\" is not a host name"},
    {"host half bracket",
     {{"spec.database.host", "\"[::1\""}},
     "spec.database.host: \"[::1\" is not"},
    {"host leading dash", {{"spec.database.host", "\"-db\""}}, "spec.database.host: \"-db\""},
    {"host empty label", {{"spec.database.host", "\"a..b\""}}, "spec.database.host: \"a..b\""},
    {"host five numbers",
     {{"spec.database.host", "\"1.2.3.4.5\""}},
     "spec.database.host: \"1.2.3.4.5\""},
    {"host bad ipv6",
     {{"spec.database.host", "\"fd00:::1:::\""}},
     "spec.database.host: \"fd00:::1:::\""},
    {"host hex name", {{"spec.database.host", "\"deadbeef.cafe\""}}, NULL},
    {"user empty", {{"spec.database.user", "\"\""}}, "spec.database.user: must not be empty"},
    {"user newline",
     {{"spec.database.user", "\"a\\nb\""}},
     "spec.database.user: \"a\\x0ab\" is not a user name"},
    {"user NUL",
     {{"spec.database.user", "\"a\\u0000b\""}},
     "spec.database.user: contains a NUL character"},
    {"user object",
     {{"spec.database.user", "{}"}},
     "spec.database.user: must be a string, not an object"},
    {"password key dot",
     {{"spec.database.passwordSecretRef.key", "\".\""}},
     "spec.database.passwordSecretRef.key: \".\" is not a valid Secret key"},
    {"password key ..data",
     {{"spec.database.passwordSecretRef.key", "\"..data\""}},
     "spec.database.passwordSecretRef.key: \"..data\" is not a valid Secret key"},
    {"password key slash",
     {{"spec.database.passwordSecretRef.key", "\"a/b\""}},
     "spec.database.passwordSecretRef.key: \"a/b\""},
    {"password name",
     {{"spec.database.passwordSecretRef.name", "\"App\""}},
     "spec.database.passwordSecretRef.name: \"App\" is not a valid name"},
    {"password without key",
     {{"spec.database.passwordSecretRef.key", NULL}},
     "spec.database.passwordSecretRef.key: required"},
    {"password ref extra",
     {{"spec.database.passwordSecretRef.optional", "true"}},
     "spec.database.passwordSecretRef: unknown field \"optional\""},
    {"password ref string",
     {{"spec.database.passwordSecretRef", "\"app-db\""}},
     "spec.database.passwordSecretRef: must be an object"},
    {"timeout",
     {{"spec.database.connectTimeoutSeconds", "601"}},
     "spec.database.connectTimeoutSeconds: 601 is out of range 1 to 600"},
    {"blank query",
     {{"spec.database.schemaVersionQuery", "\"  \\t\""}},
     "spec.database.schemaVersionQuery: \"  \\x09\" is not a query"},
    {"database unknown",
     {{"spec.database.dbname", "\"app\""}},
     "spec.database: unknown field \"dbname\""},

    /* storage */
    {"storage missing", {{"spec.storage", NULL}}, "spec.storage: required"},
    {"no backend",
     {{"spec.storage", "{}"}},
     "spec.storage: no storage backend set: set exactly one of s3, azure, gcs and volume"},
    {"two backends",
     {{"spec.storage.volume", "{\"claimName\":\"v\"}"}},
     "spec.storage: several storage backends set"},
    {"backend string",
     {{"spec.storage", "{\"s3\":\"acme\"}"}},
     "spec.storage.s3: must be an object, not a string"},
    {"unknown backend", {{"spec.storage.ftp", "{}"}}, "spec.storage: unknown field \"ftp\""},
    {"bucket A_B",
     {{"spec.storage.s3.bucket", "\"A_B\""}},
     "spec.storage.s3.bucket: \"A_B\" is not a valid bucket name (3-255 of a-z, 0-9, '.', '-', "
     "'_', starting and ending with a letter or digit)"},
    {"bucket short",
     {{"spec.storage.s3.bucket", "\"ab\""}},
     "spec.storage.s3.bucket: must be 3 to 255 characters, not 2"},
    {"bucket dash", {{"spec.storage.s3.bucket", "\"-ab\""}}, "spec.storage.s3.bucket: \"-ab\""},
    {"bucket missing", {{"spec.storage.s3.bucket", NULL}}, "spec.storage.s3.bucket: required"},
    {"prefix ..",
     {{"spec.storage.s3.prefix", "\"a/../b\""}},
     "spec.storage.s3.prefix: \"a/../b\" is not a valid folder path"},
    {"prefix .", {{"spec.storage.s3.prefix", "\"./a\""}}, "spec.storage.s3.prefix: \"./a\""},
    {"prefix trailing .",
     {{"spec.storage.s3.prefix", "\"a/.\""}},
     "spec.storage.s3.prefix: \"a/.\""},
    {"prefix //", {{"spec.storage.s3.prefix", "\"a//b\""}}, "spec.storage.s3.prefix: \"a//b\""},
    {"prefix leading /", {{"spec.storage.s3.prefix", "\"/a\""}}, "spec.storage.s3.prefix: \"/a\""},
    {"prefix ?", {{"spec.storage.s3.prefix", "\"a?b\""}}, "spec.storage.s3.prefix: \"a?b\""},
    {"prefix #", {{"spec.storage.s3.prefix", "\"a#b\""}}, "spec.storage.s3.prefix: \"a#b\""},
    {"prefix backslash",
     {{"spec.storage.s3.prefix", "\"a\\\\b\""}},
     "spec.storage.s3.prefix: \"a\\\\b\""},
    {"prefix control",
     {{"spec.storage.s3.prefix", "\"a\\u0001b\""}},
     "spec.storage.s3.prefix: \"a\\x01b\""},
    {"prefix empty",
     {{"spec.storage.s3.prefix", "\"\""}},
     "spec.storage.s3.prefix: must not be empty"},
    {"endpoint path",
     {{"spec.storage.s3.endpoint", "\"https://h/path\""}},
     "spec.storage.s3.endpoint: \"https://h/path\" is not an S3 endpoint"},
    {"endpoint scheme",
     {{"spec.storage.s3.endpoint", "\"ftp://h\""}},
     "spec.storage.s3.endpoint: \"ftp://h\""},
    {"endpoint empty host",
     {{"spec.storage.s3.endpoint", "\"https:///\""}},
     "spec.storage.s3.endpoint: \"https:///\""},
    {"endpoint no host",
     {{"spec.storage.s3.endpoint", "\"https://:9000\""}},
     "spec.storage.s3.endpoint: \"https://:9000\""},
    {"endpoint port",
     {{"spec.storage.s3.endpoint", "\"https://h:99999\""}},
     "spec.storage.s3.endpoint: \"https://h:99999\""},
    {"endpoint port letters",
     {{"spec.storage.s3.endpoint", "\"https://h:x\""}},
     "spec.storage.s3.endpoint: \"https://h:x\""},
    {"endpoint underscore",
     {{"spec.storage.s3.endpoint", "\"https://a_b\""}},
     "spec.storage.s3.endpoint: \"https://a_b\""},
    {"endpoint bracket",
     {{"spec.storage.s3.endpoint", "\"http://[\""}},
     "spec.storage.s3.endpoint: \"http://[\""},
    {"endpoint ipv6", {{"spec.storage.s3.endpoint", "\"https://[::1]:9000/\""}}, NULL},
    {"endpoint port ok", {{"spec.storage.s3.endpoint", "\"http://minio.storage.svc:9000\""}}, NULL},
    {"azure endpoint no host",
     {{"spec.storage",
       "{\"azure\":{\"container\":\"backups\",\"accountName\":\"a12\",\"endpoint\":\"http:///"
       "devstoreaccount1\",\"credentialsSecretRef\":{\"name\":\"az\",\"accountKeyKey\":\"k\"}}}"}},
     "spec.storage.azure.endpoint: \"http:///devstoreaccount1\""},
    {"region",
     {{"spec.storage.s3.region", "\"eu west\""}},
     "spec.storage.s3.region: \"eu west\" is not a region name"},
    {"kms without sse",
     {{"spec.storage.s3.kmsKeyId", "\"k\""}},
     "spec.storage.s3.kmsKeyId: kmsKeyId needs serverSideEncryption: aws:kms"},
    {"kms with AES256",
     {{"spec.storage.s3.serverSideEncryption", "\"AES256\""},
      {"spec.storage.s3.kmsKeyId", "\"k\""}},
     "spec.storage.s3.kmsKeyId: kmsKeyId needs serverSideEncryption: aws:kms"},
    {"kms with a space",
     {{"spec.storage.s3.serverSideEncryption", "\"aws:kms\""},
      {"spec.storage.s3.kmsKeyId", "\"a b\""}},
     "spec.storage.s3.kmsKeyId: \"a b\" is not a KMS key id"},
    {"sse",
     {{"spec.storage.s3.serverSideEncryption", "\"aws:kms:dsse\""}},
     "spec.storage.s3.serverSideEncryption: \"aws:kms:dsse\" is not one of AES256, aws:kms"},
    {"storage class",
     {{"spec.storage.s3.storageClass", "\"standard\""}},
     "spec.storage.s3.storageClass: \"standard\" is not a storage class"},
    {"path style",
     {{"spec.storage.s3.forcePathStyle", "\"yes\""}},
     "spec.storage.s3.forcePathStyle: must be a boolean"},
    {"no credentials",
     {{"spec.storage.s3.credentialsSecretRef", NULL}},
     "spec.storage.s3.credentialsSecretRef: required"},
    {"credentials without name",
     {{"spec.storage.s3.credentialsSecretRef", "{\"accessKeyIdKey\":\"id\"}"}},
     "spec.storage.s3.credentialsSecretRef.name: required"},
    {"credentials key ..",
     {{"spec.storage.s3.credentialsSecretRef.accessKeyIdKey", "\"..\""}},
     "spec.storage.s3.credentialsSecretRef.accessKeyIdKey: \"..\" is not a valid Secret key"},
    {"credentials {name,key}",
     {{"spec.storage.s3.credentialsSecretRef.key", "\"k\""}},
     "spec.storage.s3.credentialsSecretRef: unknown field \"key\""},
    {"s3 CA without key",
     {{"spec.storage.s3.caSecretRef", "{\"name\":\"ca\"}"}},
     "spec.storage.s3.caSecretRef.key: required"},
    {"azure container caps",
     {{"spec.storage", "{\"azure\":{\"container\":\"Backups\",\"accountName\":\"a12\","
		       "\"credentialsSecretRef\":{\"name\":\"az\",\"accountKeyKey\":\"k\"}}}"}},
     "spec.storage.azure.container: \"Backups\" is not a valid container name"},
    {"azure container --",
     {{"spec.storage", "{\"azure\":{\"container\":\"a--b\",\"accountName\":\"a12\","
		       "\"credentialsSecretRef\":{\"name\":\"az\",\"accountKeyKey\":\"k\"}}}"}},
     "spec.storage.azure.container: \"a--b\""},
    {"azure no account",
     {{"spec.storage", "{\"azure\":{\"container\":\"backups\",\"credentialsSecretRef\":{\"name\":"
		       "\"az\",\"sasTokenKey\":\"k\"}}}"}},
     "spec.storage.azure.accountName: required: accountName is required unless the credentials are "
     "a connection string"},
    {"azure account caps",
     {{"spec.storage", "{\"azure\":{\"container\":\"backups\",\"accountName\":\"Acme\","
		       "\"credentialsSecretRef\":{\"name\":\"az\",\"sasTokenKey\":\"k\"}}}"}},
     "spec.storage.azure.accountName: \"Acme\" is not a storage account name"},
    {"azure two keys",
     {{"spec.storage",
       "{\"azure\":{\"container\":\"backups\",\"accountName\":\"a12\",\"credentialsSecretRef\":{"
       "\"name\":\"az\",\"sasTokenKey\":\"k\",\"accountKeyKey\":\"j\"}}}"}},
     "spec.storage.azure.credentialsSecretRef: several credential keys set: set exactly one of "
     "accountKeyKey, sasTokenKey and connectionStringKey"},
    {"azure no key",
     {{"spec.storage", "{\"azure\":{\"container\":\"backups\",\"accountName\":\"a12\","
		       "\"credentialsSecretRef\":{\"name\":\"az\"}}}"}},
     "spec.storage.azure.credentialsSecretRef: no credential keys set"},
    {"azure endpoint query",
     {{"spec.storage",
       "{\"azure\":{\"container\":\"backups\",\"accountName\":\"a12\",\"endpoint\":\"https://h/"
       "?sig=x\",\"credentialsSecretRef\":{\"name\":\"az\",\"accountKeyKey\":\"k\"}}}"}},
     "spec.storage.azure.endpoint: \"https://h/?sig=x\" is not a Blob service URL"},
    {"gcs session token",
     {{"spec.storage", "{\"gcs\":{\"bucket\":\"acme\",\"credentialsSecretRef\":{\"name\":\"g\","
		       "\"sessionTokenKey\":\"t\"}}}"}},
     "spec.storage.gcs.credentialsSecretRef: unknown field \"sessionTokenKey\""},
    {"gcs both credential forms",
     {{"spec.storage", "{\"gcs\":{\"bucket\":\"acme\",\"credentialsSecretRef\":{\"name\":\"g\","
		       "\"serviceAccountKeyKey\":\"key.json\",\"accessKeyIdKey\":\"id\"}}}"}},
     "spec.storage.gcs.credentialsSecretRef.serviceAccountKeyKey: serviceAccountKeyKey (a JSON "
     "key) and accessKeyIdKey or secretAccessKeyKey (an HMAC key) are two forms of credentials: "
     "set one"},
    {"gcs endpoint with a path",
     {{"spec.storage",
       "{\"gcs\":{\"bucket\":\"acme\",\"endpoint\":\"https://h/storage\","
       "\"credentialsSecretRef\":{\"name\":\"g\",\"serviceAccountKeyKey\":\"k\"}}}"}},
     "spec.storage.gcs.endpoint: \"https://h/storage\" is not a Cloud Storage endpoint"},
    {"gcs bucket caps",
     {{"spec.storage",
       "{\"gcs\":{\"bucket\":\"Acme\",\"credentialsSecretRef\":{\"name\":\"g\"}}}"}},
     "spec.storage.gcs.bucket: \"Acme\" is not a valid bucket name (3-222"},
    {"volume no claim",
     {{"spec.storage", "{\"volume\":{\"subPath\":\"app\"}}"}},
     "spec.storage.volume.claimName: required"},
    {"volume ..",
     {{"spec.storage", "{\"volume\":{\"claimName\":\"v\",\"subPath\":\"..\"}}"}},
     "spec.storage.volume.subPath: \"..\" is not a valid folder path"},

    /* the rest of the spec */
    {"encryption empty",
     {{"spec.encryption", "{}"}},
     "spec.encryption.passphraseSecretRef: required"},
    {"passphrase key empty",
     {{"spec.encryption.passphraseSecretRef.key", "\"\""}},
     "spec.encryption.passphraseSecretRef.key: must not be empty"},
    {"format", {{"spec.format", "\"tar\""}}, "spec.format: \"tar\" is not one of custom, plain"},
    {"zstd:20",
     {{"spec.compression", "\"zstd:20\""}},
     "spec.compression: \"zstd:20\" is not zstd:auto, zstd:auto:LOW-HIGH (LOW <= HIGH), "
     "zstd[:LEVEL] with LEVEL 1-19, gzip[:LEVEL] with LEVEL 1-9, or none"},
    {"zstd:auto:6-1",
     {{"spec.compression", "\"zstd:auto:6-1\""}},
     "spec.compression: \"zstd:auto:6-1\""},
    {"zstd:auto:0-3",
     {{"spec.compression", "\"zstd:auto:0-3\""}},
     "spec.compression: \"zstd:auto:0-3\""},
    {"zstd:auto:1-20",
     {{"spec.compression", "\"zstd:auto:1-20\""}},
     "spec.compression: \"zstd:auto:1-20\""},
    {"zstd:auto:", {{"spec.compression", "\"zstd:auto:\""}}, "spec.compression: \"zstd:auto:\""},
    {"zstd:auto:3", {{"spec.compression", "\"zstd:auto:3\""}}, "spec.compression: \"zstd:auto:3\""},
    {"gzip:auto", {{"spec.compression", "\"gzip:auto\""}}, "spec.compression: \"gzip:auto\""},
    {"zstd:0", {{"spec.compression", "\"zstd:0\""}}, "spec.compression: \"zstd:0\""},
    {"zstd:03", {{"spec.compression", "\"zstd:03\""}}, "spec.compression: \"zstd:03\""},
    {"zstd:", {{"spec.compression", "\"zstd:\""}}, "spec.compression: \"zstd:\""},
    {"gzip:10", {{"spec.compression", "\"gzip:10\""}}, "spec.compression: \"gzip:10\""},
    {"lz4", {{"spec.compression", "\"lz4\""}}, "spec.compression: \"lz4\""},
    {"compression too long",
     {{"spec.compression", "\"zstd:auto:1-19999\""}},
     "spec.compression: must be 1 to 16 characters, not 17"},
    {"verify string",
     {{"spec.verify", "\"true\""}},
     "spec.verify: must be a boolean (true or false), not a string"},
    {"files empty", {{"spec.files", "{}"}}, "spec.files.claimName: required"},
    {"files ..",
     {{"spec.files", "{\"claimName\":\"u\",\"path\":\"../x\"}"}},
     "spec.files.path: \"../x\""},
    {"deletionPolicy",
     {{"spec.deletionPolicy", "\"Orphan\""}},
     "spec.deletionPolicy: \"Orphan\" is not one of Retain, Delete"},

    /* jobTemplate */
    {"jobTemplate list",
     {{"spec.jobTemplate", "[]"}},
     "spec.jobTemplate: must be an object, not a list"},
    {"jobTemplate unknown",
     {{"spec.jobTemplate.command", "[\"sh\"]"}},
     "spec.jobTemplate: unknown field \"command\""},
    {"image space",
     {{"spec.jobTemplate.image", "\"lifeboat latest\""}},
     "spec.jobTemplate.image: \"lifeboat latest\" is not an image reference"},
    {"pull policy",
     {{"spec.jobTemplate.imagePullPolicy", "\"Sometimes\""}},
     "spec.jobTemplate.imagePullPolicy: \"Sometimes\" is not one of Always, IfNotPresent, Never"},
    {"pull secret twice",
     {{"spec.jobTemplate.imagePullSecrets", "[{\"name\":\"a\"},{\"name\":\"a\"}]"}},
     "spec.jobTemplate.imagePullSecrets[1].name: \"a\" is listed twice"},
    {"pull secret no name",
     {{"spec.jobTemplate.imagePullSecrets", "[{}]"}},
     "spec.jobTemplate.imagePullSecrets[0].name: required"},
    {"pull secret string",
     {{"spec.jobTemplate.imagePullSecrets", "[\"a\"]"}},
     "spec.jobTemplate.imagePullSecrets[0]: must be an object"},
    {"service account",
     {{"spec.jobTemplate.serviceAccountName", "\"SA\""}},
     "spec.jobTemplate.serviceAccountName: \"SA\" is not a valid name"},
    {"negative cpu",
     {{"spec.jobTemplate.resources", "{\"requests\":{\"cpu\":\"-1\"}}"}},
     "spec.jobTemplate.resources.requests.cpu: \"-1\" is not a quantity"},
    {"bad quantity",
     {{"spec.jobTemplate.resources", "{\"limits\":{\"memory\":\"1x\"}}"}},
     "spec.jobTemplate.resources.limits.memory: \"1x\" is not a quantity"},
    {"float quantity",
     {{"spec.jobTemplate.resources", "{\"limits\":{\"cpu\":1.5}}"}},
     "spec.jobTemplate.resources.limits.cpu: \"1.5\" is not a quantity"},
    {"resource name",
     {{"spec.jobTemplate.resources", "{\"limits\":{\"bad key!\":\"1\"}}"}},
     "spec.jobTemplate.resources.limits: \"bad key!\" is not a resource name"},
    {"resources unknown",
     {{"spec.jobTemplate.resources", "{\"claims\":[]}"}},
     "spec.jobTemplate.resources: unknown field \"claims\""},
    {"node selector key",
     {{"spec.jobTemplate.nodeSelector", "{\"bad key!\":\"x\"}"}},
     "spec.jobTemplate.nodeSelector: key \"bad key!\" is not a label key"},
    {"node selector value",
     {{"spec.jobTemplate.nodeSelector", "{\"a\":\"bad value!\"}"}},
     "spec.jobTemplate.nodeSelector[a]: \"bad value!\" is not a label value"},
    {"node selector number",
     {{"spec.jobTemplate.nodeSelector", "{\"a\":1}"}},
     "spec.jobTemplate.nodeSelector[a]: must be a string, not an integer"},
    {"toleration without key",
     {{"spec.jobTemplate.tolerations", "[{\"operator\":\"Equal\"}]"}},
     "spec.jobTemplate.tolerations[0].operator: must be Exists when key is empty"},
    {"toleration exists with value",
     {{"spec.jobTemplate.tolerations",
       "[{\"key\":\"k\",\"operator\":\"Exists\",\"value\":\"v\"}]"}},
     "spec.jobTemplate.tolerations[0].value: must be empty with operator Exists"},
    {"toleration seconds",
     {{"spec.jobTemplate.tolerations", "[{\"key\":\"k\",\"tolerationSeconds\":5}]"}},
     "spec.jobTemplate.tolerations[0].tolerationSeconds: only with effect NoExecute"},
    {"toleration effect",
     {{"spec.jobTemplate.tolerations", "[{\"key\":\"k\",\"effect\":\"Sometimes\"}]"}},
     "spec.jobTemplate.tolerations[0].effect: \"Sometimes\" is not one of"},
    {"tolerations string",
     {{"spec.jobTemplate.tolerations", "\"x\""}},
     "spec.jobTemplate.tolerations: must be a list"},
    {"toleration number",
     {{"spec.jobTemplate.tolerations", "[{\"key\":\"k\"},1]"}},
     "spec.jobTemplate.tolerations[1]: must be an object"},
    {"affinity unknown",
     {{"spec.jobTemplate.affinity", "{\"nodeAffinity\":{},\"zoneAffinity\":{}}"}},
     "spec.jobTemplate.affinity: unknown field \"zoneAffinity\""},
    {"affinity part",
     {{"spec.jobTemplate.affinity", "{\"podAffinity\":1}"}},
     "spec.jobTemplate.affinity.podAffinity: must be an object"},
    {"priority class",
     {{"spec.jobTemplate.priorityClassName", "\"Low\""}},
     "spec.jobTemplate.priorityClassName: \"Low\""},
    {"podLabels lifeboat.dev",
     {{"spec.jobTemplate.podLabels", "{\"lifeboat.dev/backup\":\"x\"}"}},
     "spec.jobTemplate.podLabels: key \"lifeboat.dev/backup\": keys under lifeboat.dev/ are set by "
     "the operator"},
    {"podLabels ours",
     {{"spec.jobTemplate.podLabels", "{\"app.kubernetes.io/instance\":\"x\"}"}},
     "spec.jobTemplate.podLabels: key \"app.kubernetes.io/instance\" is set by the operator"},
    {"podAnnotations lifeboat.dev",
     {{"spec.jobTemplate.podAnnotations", "{\"lifeboat.dev/x\":\"y\"}"}},
     "spec.jobTemplate.podAnnotations: key \"lifeboat.dev/x\": keys under lifeboat.dev/ are set by "
     "the operator"},
    {"podAnnotations key",
     {{"spec.jobTemplate.podAnnotations", "{\"a b\":\"y\"}"}},
     "spec.jobTemplate.podAnnotations: key \"a b\" is not a annotation key"},
    {"runAsUser 0",
     {{"spec.jobTemplate.podSecurityContext", "{\"runAsUser\":0}"}},
     "spec.jobTemplate.podSecurityContext.runAsUser: 0 is out of range 1 to 2147483647"},
    {"supplemental -1",
     {{"spec.jobTemplate.podSecurityContext", "{\"supplementalGroups\":[-1]}"}},
     "spec.jobTemplate.podSecurityContext.supplementalGroups[0]: must be a GID"},
    {"privileged",
     {{"spec.jobTemplate.podSecurityContext", "{\"privileged\":true}"}},
     "spec.jobTemplate.podSecurityContext: unknown field \"privileged\""},
    {"deadline 0",
     {{"spec.jobTemplate.activeDeadlineSeconds", "0"}},
     "spec.jobTemplate.activeDeadlineSeconds: 0 is out of range 1 to 2592000"},
    {"deadline 31d",
     {{"spec.jobTemplate.activeDeadlineSeconds", "2592001"}},
     "spec.jobTemplate.activeDeadlineSeconds: 2592001"},
    {"backoff 11",
     {{"spec.jobTemplate.backoffLimit", "11"}},
     "spec.jobTemplate.backoffLimit: 11 is out of range 0 to 10"},
    {"ttl -1",
     {{"spec.jobTemplate.ttlSecondsAfterFinished", "-1"}},
     "spec.jobTemplate.ttlSecondsAfterFinished: -1"},
    {"logLevel",
     {{"spec.jobTemplate.logLevel", "\"trace\""}},
     "spec.jobTemplate.logLevel: \"trace\" is not one of error, warning, info, debug"},
};

static void api_backup_parse__enforces_every_rule(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rule_case *c = &cases[i];
		struct json_object *o = tl_json(good);
		for (size_t e = 0; e < 4 && c->edits[e].path; e++)
			tl_set(o, c->edits[e].path, c->edits[e].value);
		struct api_backup *b = NULL;
		err_clear();
		int rc = api_backup_parse(&b, o);
		json_object_put(o);
		if (!c->error) {
			if (rc)
				fail_msg("%s: refused: %s", c->name, err_msg());
			api_backup_free(b);
			continue;
		}
		if (rc == 0) {
			api_backup_free(b);
			fail_msg("%s: accepted, expected \"%s\"", c->name, c->error);
		}
		assert_null(b);
		if (rc != E_INVALID || !strstr(err_msg(), c->error))
			fail_msg("%s: rc %d, message\n  %s\nexpected it to contain\n  %s", c->name,
				 rc, err_msg(), c->error);
	}
}

/* Lengths: built here, too long to spell out in the table. */
static char *repeat_json(char c, size_t n)
{
	char *s = malloc(n + 3);
	s[0] = '"';
	memset(s + 1, c, n);
	s[n + 1] = '"';
	s[n + 2] = '\0';
	return s;
}

static void expect_length_case(const char *path, char c, size_t n, const char *error)
{
	struct json_object *o = tl_json(good);
	char *v = repeat_json(c, n);
	tl_set(o, path, v);
	free(v);
	struct api_backup *b = NULL;
	int rc = api_backup_parse(&b, o);
	json_object_put(o);
	if (!error) {
		if (rc)
			fail_msg("%s of %zu: %s", path, n, err_msg());
		api_backup_free(b);
		return;
	}
	if (rc == 0) {
		api_backup_free(b);
		fail_msg("%s of %zu accepted", path, n);
	}
	if (!strstr(err_msg(), error))
		fail_msg("%s of %zu: %s\nexpected %s", path, n, err_msg(), error);
}

static void api_backup_parse__checks_lengths_the_crd_and_the_storage_set(void **state)
{
	(void)state;
	expect_length_case("spec.database.user", 'u', 128, NULL);
	expect_length_case("spec.database.user", 'u', 129,
			   "spec.database.user: must be 1 to 128 characters, not 129");
	expect_length_case("spec.database.database", 'd', 64,
			   "spec.database.database: must be 1 to 63 characters");
	expect_length_case("spec.database.host", 'h', 64, "spec.database.host: \"hhhh");
	expect_length_case("spec.storage.s3.bucket", 'b', 255, NULL);
	expect_length_case("spec.storage.s3.bucket", 'b', 256,
			   "spec.storage.s3.bucket: must be 3 to 255 characters, not 256");
	expect_length_case("metadata.name", 'n', 254, "metadata.name: must be 1 to 253 characters");
	/* An S3 key is at most 1024 bytes: prefix, namespace, name and leaf. */
	expect_length_case("spec.storage.s3.prefix", 'p', 900, NULL);
	expect_length_case(
	    "spec.storage.s3.prefix", 'p', 1000,
	    "spec.storage.s3.prefix: with namespace app and name nightly the object keys "
	    "would be up to 1045 bytes, more than the 1024 the storage allows");
	/* The job takes an Azure prefix of at most 512. */
	struct json_object *o = tl_json(good);
	tl_set(o, "spec.storage",
	       "{\"azure\":{\"container\":\"backups\",\"accountName\":\"a12\","
	       "\"credentialsSecretRef\":{\"name\":\"az\",\"accountKeyKey\":\"k\"}}}");
	char *v = repeat_json('p', 513);
	tl_set(o, "spec.storage.azure.prefix", v);
	free(v);
	struct api_backup *b = NULL;
	assert_int_equal(api_backup_parse(&b, o), E_INVALID);
	assert_non_null(strstr(err_msg(), "spec.storage.azure.prefix: 513 characters; lifeboat "
					  "takes an Azure prefix of at most 512"));
	json_object_put(o);
	/* A volume's folder names must fit the file system. */
	o = tl_json(good);
	tl_set(o, "spec.storage", "{\"volume\":{\"claimName\":\"v\"}}");
	v = repeat_json('f', 256);
	tl_set(o, "spec.storage.volume.subPath", v);
	free(v);
	assert_int_equal(api_backup_parse(&b, o), E_INVALID);
	assert_non_null(
	    strstr(err_msg(), "spec.storage.volume.subPath: a folder name of 256 bytes"));
	json_object_put(o);
	/* Annotation values up to 4096, label maps up to 32 entries. */
	o = tl_json(good);
	v = repeat_json('a', 4097);
	char *m = malloc(strlen(v) + 16);
	sprintf(m, "{\"x\":%s}", v);
	tl_set(o, "spec.jobTemplate.podAnnotations", m);
	free(m);
	free(v);
	assert_int_equal(api_backup_parse(&b, o), E_INVALID);
	assert_non_null(
	    strstr(err_msg(), "spec.jobTemplate.podAnnotations[x]: longer than 4096 characters"));
	json_object_put(o);
	o = tl_json(good);
	struct json_object *labels = json_object_new_object();
	for (int i = 0; i < 33; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		json_object_object_add(labels, k, json_object_new_string("v"));
	}
	struct json_object *spec = NULL, *jt = json_object_new_object();
	json_object_object_get_ex(o, "spec", &spec);
	json_object_object_add(jt, "podLabels", labels);
	json_object_object_add(spec, "jobTemplate", jt);
	assert_int_equal(api_backup_parse(&b, o), E_INVALID);
	assert_non_null(
	    strstr(err_msg(), "spec.jobTemplate.podLabels: 33 entries, at most 32 are allowed"));
	json_object_put(o);
}

static void api_backup_parse__refuses_what_is_not_an_object(void **state)
{
	(void)state;
	struct api_backup *b = NULL;
	assert_int_equal(api_backup_parse(&b, NULL), E_INVALID);
	struct json_object *s = json_object_new_string("DatabaseBackup");
	assert_int_equal(api_backup_parse(&b, s), E_INVALID);
	json_object_put(s);
	assert_null(b);
}

static void api_conditions_set__keeps_transition_times_and_reports_changes(void **state)
{
	(void)state;
	struct json_object *conds = json_object_new_array();
	struct api_condition c = {"Ready", "False", "Running", "the backup Job runs", 1};
	assert_int_equal(api_conditions_set(conds, &c, 1000), 1);
	assert_string_equal(api_conditions_status(conds, "Ready"), "False");
	/* The same again: nothing to write. */
	assert_int_equal(api_conditions_set(conds, &c, 2000), 0);
	/* Same status, new reason: a change, but the transition time stays. */
	struct api_condition v = {"Ready", "False", "Verifying", "re-reading", 1};
	assert_int_equal(api_conditions_set(conds, &v, 3000), 1);
	struct json_object *e = json_object_array_get_idx(conds, 0), *t = NULL;
	json_object_object_get_ex(e, "lastTransitionTime", &t);
	assert_string_equal(json_object_get_string(t), "1970-01-01T00:16:40Z");
	/* A new status moves it. */
	struct api_condition done = {"Ready", "True", "Succeeded", "", 2};
	assert_int_equal(api_conditions_set(conds, &done, 4000), 1);
	e = json_object_array_get_idx(conds, 0);
	json_object_object_get_ex(e, "lastTransitionTime", &t);
	assert_string_equal(json_object_get_string(t), "1970-01-01T01:06:40Z");
	json_object_object_get_ex(e, "observedGeneration", &t);
	assert_int_equal(json_object_get_int64(t), 2);
	/* Another type is added beside it. */
	struct api_condition ver = {"Verified", "True", "Verified", "sha256+mdc", 2};
	assert_int_equal(api_conditions_set(conds, &ver, 4000), 1);
	assert_int_equal(json_object_array_length(conds), 2);
	assert_null(api_conditions_status(conds, "Missing"));
	/* What the CRD would refuse is refused here. */
	struct api_condition bad_reason = {"Ready", "False", "Not CamelCase", "", 1};
	assert_int_equal(api_conditions_set(conds, &bad_reason, 1), E_INVALID);
	struct api_condition bad_status = {"Ready", "Maybe", "X", "", 1};
	assert_int_equal(api_conditions_set(conds, &bad_status, 1), E_INVALID);
	struct api_condition bad_type = {"not a type", "True", "X", "", 1};
	assert_int_equal(api_conditions_set(conds, &bad_type, 1), E_INVALID);
	assert_int_equal(api_conditions_set(NULL, &c, 1), E_INVALID);
	/* A long message is cut to the CRD's limit at a character boundary. */
	char *big = malloc(40000);
	for (size_t i = 0; i + 2 < 40000; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[39998] = '\0';
	struct api_condition long_msg = {"Ready", "False", "Failed", big, 2};
	assert_int_equal(api_conditions_set(conds, &long_msg, 5000), 1);
	e = json_object_array_get_idx(conds, 0);
	json_object_object_get_ex(e, "message", &t);
	assert_int_equal(json_object_get_string_len(t), 32768);
	free(big);
	json_object_put(conds);
}

static void api_validators__match_the_kubernetes_rules(void **state)
{
	(void)state;
	assert_true(api_valid_dns_subdomain("a.b-c.d", 253));
	assert_false(api_valid_dns_subdomain("a..b", 253));
	assert_false(api_valid_dns_subdomain("a.-b", 253));
	assert_false(api_valid_dns_subdomain("a-.b", 253));
	assert_false(api_valid_dns_subdomain("A", 253));
	assert_false(api_valid_dns_subdomain("", 253));
	assert_true(api_valid_dns_label("app-1"));
	assert_false(api_valid_dns_label("app.1"));
	assert_true(api_valid_secret_key("AWS_ACCESS_KEY_ID"));
	assert_true(api_valid_secret_key(".dotfile"));
	assert_true(api_valid_secret_key("tls.crt"));
	assert_false(api_valid_secret_key("."));
	assert_false(api_valid_secret_key(".."));
	assert_false(api_valid_secret_key("..x"));
	assert_false(api_valid_secret_key("a b"));
	assert_true(api_valid_label_key("app.kubernetes.io/name"));
	assert_true(api_valid_label_key("a"));
	assert_false(api_valid_label_key("a/b/c"));
	assert_false(api_valid_label_key("/a"));
	assert_false(api_valid_label_key("Example.com/a"));
	assert_false(api_valid_label_key("a-"));
	assert_true(api_valid_label_value(""));
	assert_true(api_valid_label_value("v1.2_3-x"));
	assert_false(api_valid_label_value("-v"));
	assert_true(api_valid_rel_path("a"));
	assert_true(api_valid_rel_path("a/b/"));
	assert_true(api_valid_rel_path("...")); /* a folder named "..." is fine */
	assert_false(api_valid_rel_path("a/"
					"/"));
	assert_false(api_valid_rel_path("/"));
	assert_false(api_valid_rel_path(""));
	assert_false(api_valid_rel_path("a/.."));
}

/* Random mutations of a good spec (with every jobTemplate setting): parsing
 * never crashes or leaks, and every refusal names a field. */
static void api_backup_parse__survives_random_mutations(void **state)
{
	(void)state;
	const char *env = getenv("FUZZ_ITERATIONS");
	long iterations = env ? atol(env) : 5000;
	unsigned seed = 4242;
	long accepted = 0;
	for (long it = 0; it < iterations; it++) {
		struct json_object *o = tl_json(good);
		tl_set(o, "spec.jobTemplate", full_job_template);
		int edits = 1 + rand_r(&seed) % 4;
		for (int e = 0; e < edits; e++)
			tl_mutate(o, &seed);
		struct api_backup *b = NULL;
		err_clear();
		int rc = api_backup_parse(&b, o);
		if (rc == 0) {
			accepted++;
			assert_non_null(b->meta.name);
			assert_true(b->spec.storage.kind != API_STORAGE_NONE);
			api_backup_free(b);
		} else {
			assert_int_equal(rc, E_INVALID);
			assert_null(b);
			if (!strchr(err_msg(), ':'))
				fail_msg("a refusal without a field: %s", err_msg());
		}
		json_object_put(o);
	}
	assert_true(iterations < 100 || accepted > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(api_backup_parse__applies_the_crd_defaults),
	    cmocka_unit_test(api_backup_parse__reads_every_job_template_setting),
	    cmocka_unit_test(api_backup_parse__enforces_every_rule),
	    cmocka_unit_test(api_backup_parse__checks_lengths_the_crd_and_the_storage_set),
	    cmocka_unit_test(api_backup_parse__refuses_what_is_not_an_object),
	    cmocka_unit_test(api_conditions_set__keeps_transition_times_and_reports_changes),
	    cmocka_unit_test(api_validators__match_the_kubernetes_rules),
	    cmocka_unit_test(api_backup_parse__survives_random_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
