/* Tests for operator/jobspec.c: one golden Job per representative spec
 * (tests/unit/testdata/jobspec/; JOBSPEC_UPDATE_GOLDEN=1 rewrites them), and
 * the promises checked on every Job built, the golden ones and those of a
 * fuzz loop alike: secrets only by reference, args without values, the
 * hardening, labels, names and ownership. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>
#include <libpq-fe.h>

#include "common/err.h"
#include "common/jobenv.h"
#include "job/store/azure.h"
#include "job/store/s3.h"
#include "operator/api/backup.h"
#include "operator/jobspec.h"
#include "tests/unit/api_testlib.h"

/* --- files --- */

static char *testdata_path(const char *leaf)
{
	const char *dir = getenv("JOBSPEC_GOLDEN_DIR");
	if (dir) {
		char *path = malloc(strlen(dir) + strlen(leaf) + 2);
		sprintf(path, "%s/%s", dir, leaf);
		return path;
	}
	/* __FILE__ is tests/unit/test_jobspec.c as the Makefile compiles it, so
	 * this works from the top of the tree (where make runs the tests). */
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	size_t n = slash ? (size_t)(slash - file) : 0;
	char *path = malloc(n + strlen(leaf) + 32);
	sprintf(path, "%.*s%stestdata/jobspec/%s", (int)n, file, n ? "/" : "", leaf);
	return path;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = '\0';
	fclose(f);
	return s;
}

static struct api_backup *load_backup(const char *input)
{
	char *path = testdata_path(input);
	char *text = read_text(path);
	if (!text)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	struct json_object *o = tl_json(text);
	struct api_backup *b = NULL;
	if (api_backup_parse(&b, o))
		fail_msg("%s: %s", path, err_msg());
	json_object_put(o);
	free(text);
	free(path);
	return b;
}

/* --- the promises --- */

static struct json_object *at(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *at_str(struct json_object *o, const char *key)
{
	struct json_object *v = at(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int at_bool(struct json_object *o, const char *key, int want)
{
	struct json_object *v = at(o, key);
	return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v) == want;
}

/* Every Secret the spec names; the Job may refer to these and no others. */
static int spec_secret(const struct api_backup *b, const char *name)
{
	const struct api_backup_spec *s = &b->spec;
	const char *names[] = {
	    s->database.connection.name,
	    s->database.password.name,
	    s->database.ca.name,
	    s->storage.s3.ca.name,
	    s->storage.s3.credentials.name,
	    s->storage.azure.ca.name,
	    s->storage.azure.credentials.name,
	    s->storage.gcs.credentials.name,
	    s->encryption.passphrase.name,
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/* A composed LIFEBOAT_DB holds no password: no "user:password@" and no
 * password= keyword. */
static void check_no_password(const char *uri)
{
	const char *s = strstr(uri, "://");
	assert_non_null(s);
	const char *at_sign = strchr(s + 3, '@');
	if (at_sign)
		for (const char *p = s + 3; p < at_sign; p++)
			if (*p == ':')
				fail_msg("LIFEBOAT_DB has a password: %s", uri);
	char *lower = strdup(uri);
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	assert_null(strstr(lower, "password"));
	free(lower);
}

/* The job reads LIFEBOAT_STORAGE with its own parsers: they must accept
 * what the builder wrote and find the spec's bucket, prefix and options. */
static void check_storage_url(const struct api_backup *b, const char *url)
{
	const struct api_storage *st = &b->spec.storage;
	const char *prefix = api_storage_prefix(st);
	char want_prefix[1100] = "";
	if (prefix) {
		snprintf(want_prefix, sizeof(want_prefix), "%s", prefix);
		for (size_t n = strlen(want_prefix); n > 0 && want_prefix[n - 1] == '/';)
			want_prefix[--n] = '\0';
	}
	if (st->kind == API_STORAGE_S3 || st->kind == API_STORAGE_GCS) {
		struct s3_config c;
		if (s3_config_parse(&c, url, NULL))
			fail_msg("the job refuses %s: %s", url, err_msg());
		assert_string_equal(c.bucket,
				    st->kind == API_STORAGE_S3 ? st->s3.bucket : st->gcs.bucket);
		assert_string_equal(c.prefix, want_prefix);
		if (st->kind == API_STORAGE_S3) {
			const struct api_s3 *s3 = &st->s3;
			if (s3->region)
				assert_string_equal(c.region, s3->region);
			if (s3->force_path_style)
				assert_false(c.virtual_style);
			if (s3->server_side_encryption)
				assert_string_equal(c.sse, s3->server_side_encryption);
			if (s3->kms_key_id)
				assert_string_equal(c.kms_key_id, s3->kms_key_id);
			if (s3->storage_class)
				assert_string_equal(c.storage_class, s3->storage_class);
			assert_true(!s3->ca.name == !c.ca_bundle);
		}
		s3_config_dispose(&c);
	} else if (st->kind == API_STORAGE_AZURE) {
		struct azure_url u;
		if (azure_url_parse(&u, url))
			fail_msg("the job refuses %s: %s", url, err_msg());
		assert_string_equal(u.container, st->azure.container);
		assert_string_equal(u.prefix, want_prefix);
		if (st->azure.account_name)
			assert_string_equal(u.account, st->azure.account_name);
		else
			assert_null(u.account);
		assert_true(!st->azure.ca.name == !u.ca_file);
		azure_url_dispose(&u);
	} else {
		assert_string_equal(url, "file:///backup-volume");
	}
}

/* libpq reads the composed LIFEBOAT_DB as the spec's user, host, port and
 * database, with no password. */
static void check_db_uri(const struct api_backup *b, const char *uri)
{
	const struct api_database *d = &b->spec.database;
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri, &errmsg);
	if (!opts)
		fail_msg("libpq refuses %s: %s", uri, errmsg ? errmsg : "");
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!strcmp(o->keyword, "password"))
			assert_null(o->val);
		else if (!strcmp(o->keyword, "user"))
			assert_string_equal(o->val, d->user);
		else if (!strcmp(o->keyword, "dbname"))
			assert_string_equal(o->val, d->database);
		else if (!strcmp(o->keyword, "sslmode"))
			assert_string_equal(o->val, d->ssl_mode);
		else if (!strcmp(o->keyword, "port"))
			assert_int_equal(atoi(o->val), d->port);
		else if (!strcmp(o->keyword, "host")) {
			const char *h = d->host;
			size_t n = strlen(h);
			if (h[0] == '[') {
				h++;
				n -= 2;
			}
			assert_int_equal(strlen(o->val), n);
			assert_memory_equal(o->val, h, n);
		}
	}
	PQconninfoFree(opts);
}

static unsigned command_bit(const char *command)
{
	static const struct {
		const char *name;
		unsigned bit;
	} cmds[] = {{"backup", JOBENV_CMD_BACKUP},
		    {"verify", JOBENV_CMD_VERIFY},
		    {"delete", JOBENV_CMD_DELETE},
		    {"restore", JOBENV_CMD_RESTORE}};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, command) == 0)
			return cmds[i].bit;
	fail_msg("unknown command \"%s\" in args", command);
	return 0;
}

static void check_container(struct json_object *c, struct json_object *pod,
			    const struct api_backup *b)
{
	const char *name = at_str(c, "name");
	assert_non_null(name);
	/* args: the command word alone; the image's entrypoint is lifeboat. */
	assert_null(at(c, "command"));
	struct json_object *args = at(c, "args");
	assert_non_null(args);
	assert_int_equal(json_object_array_length(args), 1);
	const char *command = json_object_get_string(json_object_array_get_idx(args, 0));
	unsigned bit = command_bit(command);
	assert_string_equal(command, name);
	struct json_object *env = at(c, "env");
	assert_non_null(env);
	for (size_t i = 0; i < json_object_array_length(env); i++) {
		struct json_object *e = json_object_array_get_idx(env, i);
		const char *var = at_str(e, "name");
		const struct jobenv *je = jobenv_lookup(var, strlen(var));
		if (!je)
			fail_msg("%s: %s is not a variable lifeboat reads", name, var);
		if (!(je->commands & bit))
			fail_msg("%s: %s is not read by %s", name, var, command);
		for (size_t k = 0; k < i; k++)
			if (strcmp(var, at_str(json_object_array_get_idx(env, k), "name")) == 0)
				fail_msg("%s: %s is set twice", name, var);
		const char *value = at_str(e, "value");
		struct json_object *ref = at(at(e, "valueFrom"), "secretKeyRef");
		assert_true(!value != !ref);
		if (ref) {
			assert_non_null(at_str(ref, "key"));
			if (!spec_secret(b, at_str(ref, "name")))
				fail_msg("%s: %s refers to Secret %s, which the spec does not name",
					 name, var, at_str(ref, "name"));
		}
		if (je->flags & JOBENV_SECRET) {
			if (value && !(je->flags & JOBENV_COMPOSED))
				fail_msg("%s: the secret %s is a value, not a secretKeyRef", name,
					 var);
			if (value)
				check_no_password(value);
		}
		if (je->var == JOBENV_STORAGE)
			check_storage_url(b, value);
		if (je->var == JOBENV_DB && value)
			check_db_uri(b, value);
	}
	struct json_object *sc = at(c, "securityContext");
	assert_true(at_bool(sc, "allowPrivilegeEscalation", 0));
	assert_true(at_bool(sc, "readOnlyRootFilesystem", 1));
	assert_true(at_bool(sc, "runAsNonRoot", 1));
	assert_true(at_bool(sc, "privileged", 0));
	struct json_object *drop = at(at(sc, "capabilities"), "drop");
	assert_int_equal(json_object_array_length(drop), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(drop, 0)), "ALL");
	assert_string_equal(at_str(at(sc, "seccompProfile"), "type"), "RuntimeDefault");
	assert_string_equal(at_str(c, "terminationMessagePolicy"), "FallbackToLogsOnError");
	assert_string_equal(at_str(c, "terminationMessagePath"), "/dev/termination-log");
	/* Every mount names a volume of the pod; /tmp is writable. */
	struct json_object *mounts = at(c, "volumeMounts"), *vols = at(pod, "volumes");
	int tmp = 0;
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i);
		int found = 0;
		for (size_t k = 0; k < json_object_array_length(vols); k++)
			found |= strcmp(at_str(json_object_array_get_idx(vols, k), "name"),
					at_str(m, "name")) == 0;
		if (!found)
			fail_msg("%s mounts %s, which is no volume", name, at_str(m, "name"));
		tmp |= strcmp(at_str(m, "mountPath"), "/tmp") == 0 && !at(m, "readOnly");
	}
	assert_true(tmp);
}

static void check_labels(struct json_object *labels, const struct api_backup *b,
			 const char *component)
{
	char *instance = jobspec_label_value(b->meta.name);
	assert_string_equal(at_str(labels, "app.kubernetes.io/name"), "lifeboat");
	assert_string_equal(at_str(labels, "app.kubernetes.io/component"), component);
	assert_string_equal(at_str(labels, "app.kubernetes.io/managed-by"), "lifeboat-operator");
	assert_string_equal(at_str(labels, "app.kubernetes.io/instance"), instance);
	assert_string_equal(at_str(labels, "lifeboat.dev/backup"), instance);
	json_object_object_foreach(labels, k, v)
	{
		assert_true(api_valid_label_key(k));
		assert_true(api_valid_label_value(json_object_get_string(v)));
	}
	free(instance);
}

/* Everything every Job must be, whatever the spec. */
static void check_job(struct json_object *job, const struct api_backup *b, const char *component)
{
	assert_string_equal(at_str(job, "apiVersion"), "batch/v1");
	assert_string_equal(at_str(job, "kind"), "Job");
	struct json_object *meta = at(job, "metadata");
	const char *name = at_str(meta, "name");
	assert_true(strlen(name) <= JOBSPEC_NAME_MAX);
	assert_true(api_valid_dns_subdomain(name, JOBSPEC_NAME_MAX));
	char *want = jobspec_job_name(b->meta.name, component);
	assert_string_equal(name, want);
	free(want);
	assert_string_equal(at_str(meta, "namespace"), b->meta.namespace_);
	check_labels(at(meta, "labels"), b, component);
	struct json_object *owners = at(meta, "ownerReferences");
	assert_int_equal(json_object_array_length(owners), 1);
	struct json_object *ow = json_object_array_get_idx(owners, 0);
	assert_string_equal(at_str(ow, "apiVersion"), "lifeboat.dev/v1alpha1");
	assert_string_equal(at_str(ow, "kind"), "DatabaseBackup");
	assert_string_equal(at_str(ow, "name"), b->meta.name);
	assert_string_equal(at_str(ow, "uid"), b->meta.uid);
	assert_true(at_bool(ow, "controller", 1));
	assert_true(at_bool(ow, "blockOwnerDeletion", 1));
	struct json_object *spec = at(job, "spec");
	assert_int_equal(json_object_get_int(at(spec, "backoffLimit")),
			 b->spec.job_template.backoff_limit);
	assert_int_equal(json_object_get_int64(at(spec, "activeDeadlineSeconds")),
			 b->spec.job_template.active_deadline_seconds);
	assert_non_null(at(at(spec, "podFailurePolicy"), "rules"));
	struct json_object *tmpl = at(spec, "template");
	check_labels(at(at(tmpl, "metadata"), "labels"), b, component);
	struct json_object *pod = at(tmpl, "spec");
	assert_string_equal(at_str(pod, "restartPolicy"), "Never");
	assert_true(at_bool(pod, "automountServiceAccountToken", 0));
	struct json_object *psc = at(pod, "securityContext");
	assert_true(at_bool(psc, "runAsNonRoot", 1));
	assert_true(json_object_get_int64(at(psc, "runAsUser")) >= 1);
	assert_string_equal(at_str(at(psc, "seccompProfile"), "type"), "RuntimeDefault");
	/* Secret volumes name only the spec's Secrets. */
	struct json_object *vols = at(pod, "volumes");
	for (size_t i = 0; i < json_object_array_length(vols); i++) {
		struct json_object *sec = at(json_object_array_get_idx(vols, i), "secret");
		if (sec)
			assert_true(spec_secret(b, at_str(sec, "secretName")));
	}
	struct json_object *lists[] = {at(pod, "initContainers"), at(pod, "containers")};
	size_t n = 0;
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; lists[l] && i < json_object_array_length(lists[l]); i++) {
			check_container(json_object_array_get_idx(lists[l], i), pod, b);
			n++;
		}
	assert_true(n >= 1);
}

/* --- golden Jobs --- */

static const struct jobspec_opts plain_opts = {"ghcr.io/acme/lifeboat:0.1.0", "lifeboat-job", NULL,
					       0};
static const struct api_kv operator_labels[] = {
    {(char *)(uintptr_t) "example.com/operator", (char *)(uintptr_t) "prod"}};
static const struct jobspec_opts labelled_opts = {"ghcr.io/acme/lifeboat:0.1.0", NULL,
						  operator_labels, 1};

static const struct golden {
	const char *input;
	int delete_job;
	const struct jobspec_opts *opts;
} goldens[] = {
    {"s3-defaults", 0, &plain_opts},
    {"s3-everything", 0, &labelled_opts},
    {"s3-everything", 1, &labelled_opts},
    {"azure-connection-string-db", 0, &plain_opts},
    {"azure-sas", 0, &plain_opts},
    {"azure-connection-string", 0, &plain_opts},
    {"gcs", 0, &plain_opts},
    {"gcs-key", 0, &plain_opts},
    {"volume", 0, &plain_opts},
    {"volume", 1, &plain_opts},
    {"files", 0, &plain_opts},
    {"files", 1, &plain_opts},
    {"long-name", 0, &plain_opts},
    {"long-name", 1, &plain_opts},
};

static void jobspec__matches_the_golden_jobs(void **state)
{
	(void)state;
	int update =
	    getenv("JOBSPEC_UPDATE_GOLDEN") && strcmp(getenv("JOBSPEC_UPDATE_GOLDEN"), "1") == 0;
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		const struct golden *g = &goldens[i];
		char in[128], out[128];
		snprintf(in, sizeof(in), "%s.input.json", g->input);
		snprintf(out, sizeof(out), "%s.%s.json", g->input,
			 g->delete_job ? "delete" : "backup");
		struct api_backup *b = load_backup(in);
		struct json_object *job = NULL;
		int rc = g->delete_job ? jobspec_delete(&job, b, g->opts)
				       : jobspec_backup(&job, b, g->opts);
		if (rc)
			fail_msg("%s: %s", out, err_msg());
		check_job(job, b, g->delete_job ? "delete" : "backup");
		const char *text = json_object_to_json_string_ext(
		    job, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			     JSON_C_TO_STRING_NOSLASHESCAPE);
		char *path = testdata_path(out);
		if (update) {
			FILE *f = fopen(path, "w");
			assert_non_null(f);
			fprintf(f, "%s\n", text);
			fclose(f);
		} else {
			char *want = read_text(path);
			if (!want)
				fail_msg(
				    "%s is missing: run with JOBSPEC_UPDATE_GOLDEN=1 to write it",
				    path);
			size_t n = strlen(want);
			if (n > 0 && want[n - 1] == '\n')
				want[n - 1] = '\0';
			if (strcmp(want, text) != 0) {
				size_t k = 0, line = 1;
				while (want[k] && want[k] == text[k])
					line += want[k++] == '\n';
				fail_msg("%s differs from the built Job at line %zu:\n  golden: "
					 "%.80s\n  built:  "
					 "%.80s\nJOBSPEC_UPDATE_GOLDEN=1 rewrites it if the change "
					 "is meant",
					 path, line, want + k, text + k);
			}
			free(want);
		}
		free(path);
		json_object_put(job);
		api_backup_free(b);
	}
}

/* --- behaviour --- */

static struct json_object *container_named(struct json_object *job, const char *list,
					   const char *name)
{
	struct json_object *a = at(at(at(at(job, "spec"), "template"), "spec"), list);
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (strcmp(at_str(json_object_array_get_idx(a, i), "name"), name) == 0)
			return json_object_array_get_idx(a, i);
	return NULL;
}

static const char *env_value(struct json_object *c, const char *var)
{
	struct json_object *env = at(c, "env");
	for (size_t i = 0; env && i < json_object_array_length(env); i++) {
		struct json_object *e = json_object_array_get_idx(env, i);
		if (strcmp(at_str(e, "name"), var) == 0)
			return at_str(e, "value") ? at_str(e, "value") : "(secretKeyRef)";
	}
	return NULL;
}

static void jobspec_backup__verify_runs_after_backup_in_the_same_pod(void **state)
{
	(void)state;
	struct api_backup *b = load_backup("s3-defaults.input.json");
	struct json_object *job = NULL;
	assert_int_equal(jobspec_backup(&job, b, &plain_opts), 0);
	struct json_object *backup = container_named(job, "initContainers", "backup");
	struct json_object *verify = container_named(job, "containers", "verify");
	assert_non_null(backup);
	assert_non_null(verify);
	/* verify gets only what it reads: no database, no format. */
	assert_null(env_value(verify, "LIFEBOAT_DB"));
	assert_null(env_value(verify, "PGPASSWORD"));
	assert_null(env_value(verify, "LIFEBOAT_FORMAT"));
	assert_string_equal(env_value(verify, "LIFEBOAT_PASSPHRASE_FILE"),
			    "/etc/lifeboat/passphrase/passphrase");
	assert_string_equal(env_value(backup, "LIFEBOAT_DB"),
			    "postgresql://app@app-db-rw.app.svc:5432/app?sslmode=prefer");
	assert_string_equal(env_value(backup, "PGPASSWORD"), "(secretKeyRef)");
	assert_string_equal(env_value(backup, "LIFEBOAT_STORAGE"),
			    "s3://acme-db-backups/prod?region=eu-west-1");
	json_object_put(job);
	/* verify: false is one container. */
	api_backup_free(b);
	b = load_backup("azure-connection-string-db.input.json");
	assert_int_equal(jobspec_backup(&job, b, &plain_opts), 0);
	assert_null(at(at(at(at(job, "spec"), "template"), "spec"), "initContainers"));
	assert_non_null(container_named(job, "containers", "backup"));
	json_object_put(job);
	api_backup_free(b);
}

static void jobspec_backup__encodes_what_a_uri_cannot_hold(void **state)
{
	(void)state;
	struct api_backup *b = load_backup("s3-everything.input.json");
	struct json_object *job = NULL;
	assert_int_equal(jobspec_backup(&job, b, &labelled_opts), 0);
	struct json_object *c = container_named(job, "initContainers", "backup");
	assert_string_equal(
	    env_value(c, "LIFEBOAT_DB"),
	    "postgresql://app%20user@[fd00::5]:6432/billing%2Fmain?sslmode=verify-full"
	    "&sslrootcert=/etc/lifeboat/db-ca/ca.crt");
	assert_string_equal(
	    env_value(c, "LIFEBOAT_STORAGE"),
	    "s3://backups/prod/billing db?region=us-east-1&endpoint=https%3A%2F%2Fminio."
	    "storage.svc%3A9000&style=path&sse=aws%3Akms&kmsKeyId=arn%3Aaws%3Akms%3Aus-"
	    "east-1%3A111122223333%3Akey%2F1234abcd-12ab-34cd-56ef-1234567890ab&storage"
	    "Class=STANDARD_IA&caBundle=%2Fetc%2Flifeboat%2Fstorage-ca%2Fca.crt");
	assert_string_equal(env_value(c, "AWS_SESSION_TOKEN"), "(secretKeyRef)");
	json_object_put(job);
	api_backup_free(b);
	b = load_backup("azure-connection-string.input.json");
	assert_int_equal(jobspec_backup(&job, b, &plain_opts), 0);
	c = container_named(job, "initContainers", "backup");
	/* The job's Azure parser reads '+' as a space: it is %-encoded... in
	 * the query; the prefix is taken as it is. */
	assert_string_equal(env_value(c, "LIFEBOAT_STORAGE"), "azure://backups/a+b");
	json_object_put(job);
	api_backup_free(b);
}

static void jobspec_backup__refuses_what_the_job_cannot_do(void **state)
{
	(void)state;
	struct api_backup *b = load_backup("s3-defaults.input.json");
	struct json_object *job = NULL;
	/* No image anywhere. */
	struct jobspec_opts none = {NULL, NULL, NULL, 0};
	assert_int_equal(jobspec_backup(&job, b, &none), E_INVALID);
	assert_non_null(strstr(err_msg(), "spec.jobTemplate.image: no job image"));
	/* A bad operator label. */
	struct api_kv bad[] = {{(char *)(uintptr_t) "bad key", (char *)(uintptr_t) "v"}};
	struct jobspec_opts badl = {"img", NULL, bad, 1};
	assert_int_equal(jobspec_backup(&job, b, &badl), E_INVALID);
	/* Retain never gets a delete Job. */
	assert_int_equal(jobspec_delete(&job, b, &plain_opts), E_INVALID);
	assert_non_null(strstr(err_msg(), "spec.deletionPolicy: Retain"));
	assert_null(job);
	api_backup_free(b);
}

static void jobspec_job_name__is_deterministic_and_short(void **state)
{
	(void)state;
	char *n = jobspec_job_name("nightly", "backup");
	assert_string_equal(n, "nightly-backup");
	free(n);
	char long_name[254];
	memset(long_name, 'a', 253);
	long_name[253] = '\0';
	long_name[50] = '.';
	char *a = jobspec_job_name(long_name, "backup"),
	     *b2 = jobspec_job_name(long_name, "backup");
	assert_string_equal(a, b2);
	assert_true(strlen(a) <= 63);
	assert_true(api_valid_dns_subdomain(a, 63));
	assert_non_null(strstr(a, "-backup"));
	/* Another long name with the same start gets another name. */
	long_name[252] = 'b';
	char *c = jobspec_job_name(long_name, "backup");
	assert_string_not_equal(a, c);
	assert_int_equal(strncmp(a, c, 40), 0);
	/* A cut that lands on a '.' or '-' does not leave it at the end. */
	char dotted[100];
	memset(dotted, 'x', 99);
	dotted[99] = '\0';
	dotted[52] = '.';
	char *d = jobspec_job_name(dotted, "backup");
	assert_true(api_valid_dns_subdomain(d, 63));
	char *l = jobspec_label_value(long_name), *l2 = jobspec_label_value("short");
	assert_true(strlen(l) <= 63);
	assert_true(api_valid_label_value(l));
	assert_string_equal(l2, "short");
	free(a);
	free(b2);
	free(c);
	free(d);
	free(l);
	free(l2);
}

/* Random mutations of the richest spec: whatever parses builds a Job that
 * keeps every promise (or is refused with a field), and nothing leaks. */
static void jobspec__keeps_its_promises_under_random_specs(void **state)
{
	(void)state;
	const char *env = getenv("FUZZ_ITERATIONS");
	long iterations = env ? atol(env) : 3000;
	char *path = testdata_path("s3-everything.input.json");
	char *text = read_text(path);
	char *path2 = testdata_path("azure-connection-string-db.input.json");
	char *text2 = read_text(path2);
	if (!text || !text2)
		fail_msg("cannot read %s or %s: %s", path, path2, strerror(errno));
	free(path);
	free(path2);
	const char *bases[] = {text, text2};
	unsigned seed = 777;
	long built = 0;
	for (long it = 0; it < iterations; it++) {
		struct json_object *o = tl_json(bases[it % 2]);
		int edits = 1 + rand_r(&seed) % 3;
		for (int e = 0; e < edits; e++)
			tl_mutate(o, &seed);
		struct api_backup *b = NULL;
		if (api_backup_parse(&b, o) == 0) {
			struct json_object *job = NULL;
			if (jobspec_backup(&job, b, &labelled_opts) == 0) {
				check_job(job, b, "backup");
				json_object_put(job);
				built++;
			} else {
				assert_non_null(strchr(err_msg(), ':'));
			}
			if (api_backup_deletes_storage(b) &&
			    jobspec_delete(&job, b, &plain_opts) == 0) {
				check_job(job, b, "delete");
				json_object_put(job);
			}
			api_backup_free(b);
		}
		json_object_put(o);
	}
	assert_true(iterations < 100 || built > 0);
	free(text);
	free(text2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jobspec__matches_the_golden_jobs),
	    cmocka_unit_test(jobspec_backup__verify_runs_after_backup_in_the_same_pod),
	    cmocka_unit_test(jobspec_backup__encodes_what_a_uri_cannot_hold),
	    cmocka_unit_test(jobspec_backup__refuses_what_the_job_cannot_do),
	    cmocka_unit_test(jobspec_job_name__is_deterministic_and_short),
	    cmocka_unit_test(jobspec__keeps_its_promises_under_random_specs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
