/* The Job builders: a plan of environment variables and volumes from the
 * resource, then the Job JSON around it. */
#include "operator/jobspec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/jobenv.h"
#include "common/xmalloc.h"
#include "operator/api/backup.h"
#include "operator/api/restore.h"

static int ctl_jobspec_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Where the Secret volumes are mounted, and the file each key becomes. */
#define PASSPHRASE_DIR "/etc/lifeboat/passphrase"
#define PASSPHRASE_FILE PASSPHRASE_DIR "/passphrase"
#define DB_CA_DIR "/etc/lifeboat/db-ca"
#define DB_CA_FILE DB_CA_DIR "/ca.crt"
#define STORAGE_CA_DIR "/etc/lifeboat/storage-ca"
#define STORAGE_CA_FILE STORAGE_CA_DIR "/ca.crt"
#define GCS_KEY_DIR "/etc/lifeboat/gcs-key"
#define GCS_KEY_FILE GCS_KEY_DIR "/key.json"
/* 0440: the owner (root) and fsGroup read; nobody writes. */
#define SECRET_MODE 0440

/* --- names --- */

static void hash8(char out[9], const char *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1)
		memset(md, 0, 4);
	text_hex(out, md, 4);
}

/* The first keep characters of s, without a trailing '-' or '.' (a name and
 * a label value end with a letter or digit). */
static char *start_of(const char *s, size_t keep)
{
	size_t n = strlen(s) < keep ? strlen(s) : keep;
	while (n > 0 && (s[n - 1] == '-' || s[n - 1] == '.' || s[n - 1] == '_'))
		n--;
	return xstrndup(s, n);
}

char *jobspec_job_name(const char *resource, const char *suffix)
{
	char *full = xasprintf("%s-%s", resource, suffix), h[9];
	if (strlen(full) <= JOBSPEC_NAME_MAX)
		return full;
	free(full);
	hash8(h, resource);
	size_t fixed = 1 + 8 + 1 + strlen(suffix);
	char *start = start_of(resource, fixed < JOBSPEC_NAME_MAX ? JOBSPEC_NAME_MAX - fixed : 0);
	char *name =
	    *start ? xasprintf("%s-%s-%s", start, h, suffix) : xasprintf("%s-%s", h, suffix);
	free(start);
	return name;
}

char *jobspec_shorten(const char *value, size_t max)
{
	char h[9];
	if (strlen(value) <= max)
		return xstrdup(value);
	hash8(h, value);
	char *start = start_of(value, max > 9 ? max - 9 : 0);
	char *v = *start ? xasprintf("%s-%s", start, h) : xstrdup(h);
	free(start);
	return v;
}

char *jobspec_label_value(const char *value)
{
	return jobspec_shorten(value, 63);
}

/* --- the plan: environment and volumes --- */

struct env {
	enum jobenv_var var;
	char *value;		 /* owned; NULL with a secret reference */
	const char *secret_name; /* borrowed from the resource */
	const char *secret_key;
};

struct mount {
	const char *volume;
	const char *path;
	const char *sub_path; /* borrowed; NULL for none */
	int read_only;
	unsigned commands; /* JOBENV_CMD_* of the containers that mount it */
};

struct plan {
	struct env env[JOBENV_COUNT];
	size_t nenv;
	struct mount mounts[8];
	size_t nmounts;
	struct json_object *volumes; /* array, owned */
};

static void plan_dispose(struct plan *p)
{
	for (size_t i = 0; i < p->nenv; i++)
		free(p->env[i].value);
	json_object_put(p->volumes);
	memset(p, 0, sizeof(*p));
}

/* A literal value. Secret variables take none, except the one the table
 * allows the operator to compose without a credential in it. */
static int plan_value(struct plan *p, enum jobenv_var var, char *value)
{
	unsigned flags = jobenv_get(var)->flags;
	if ((flags & JOBENV_SECRET) && !(flags & JOBENV_COMPOSED)) {
		free(value);
		return err_set(E_INVALID, "internal: %s is secret and never a value in a Job",
			       jobenv_name(var));
	}
	p->env[p->nenv++] = (struct env){var, value, NULL, NULL};
	return 0;
}

static int plan_str(struct plan *p, enum jobenv_var var, const char *value)
{
	return plan_value(p, var, xstrdup(value));
}

static void plan_secret(struct plan *p, enum jobenv_var var, const char *name, const char *key)
{
	p->env[p->nenv++] = (struct env){var, NULL, name, key};
}

static void plan_mount(struct plan *p, const char *volume, const char *path, const char *sub_path,
		       int read_only, unsigned commands)
{
	p->mounts[p->nmounts++] = (struct mount){volume, path, sub_path, read_only, commands};
}

/* A Secret volume holding one key of the Secret as the file `file`. */
static void plan_secret_volume(struct plan *p, const char *volume, const char *dir,
			       const char *secret, const char *key, const char *file,
			       unsigned commands)
{
	struct json_object *item = json_object_new_object();
	json_object_object_add(item, "key", json_object_new_string(key));
	json_object_object_add(item, "path", json_object_new_string(file));
	struct json_object *items = json_object_new_array();
	json_object_array_add(items, item);
	struct json_object *src = json_object_new_object();
	json_object_object_add(src, "secretName", json_object_new_string(secret));
	json_object_object_add(src, "items", items);
	json_object_object_add(src, "defaultMode", json_object_new_int(SECRET_MODE));
	struct json_object *v = json_object_new_object();
	json_object_object_add(v, "name", json_object_new_string(volume));
	json_object_object_add(v, "secret", src);
	json_object_array_add(p->volumes, v);
	plan_mount(p, volume, dir, NULL, 1, commands);
}

/* RFC 3986 unreserved characters stay, everything else is %XX: the job's URL
 * parsers and libpq decode it. */
static void add_encoded(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			buf_add(b, s, 1);
		else
			buf_addf(b, "%%%02X", c);
	}
}

static void add_param(struct buf *b, int *first, const char *name, const char *value)
{
	if (!value)
		return;
	buf_addf(b, "%c%s=", *first ? '?' : '&', name);
	add_encoded(b, value);
	*first = 0;
}

/* "/prefix" without a trailing slash (the job strips it too), or nothing. */
static void add_prefix(struct buf *b, const char *prefix)
{
	if (!prefix)
		return;
	size_t n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	buf_adds(b, "/");
	buf_add(b, prefix, n);
}

#define ALL_COMMANDS JOBENV_CMD_ALL

static void plan_storage_ca(struct plan *p, const struct api_secret_ref *ca)
{
	plan_secret_volume(p, "storage-ca", STORAGE_CA_DIR, ca->name, ca->key, "ca.crt",
			   ALL_COMMANDS);
}

static void hmac_env(struct plan *p, const struct api_s3_credentials *c)
{
	plan_secret(p, JOBENV_AWS_ACCESS_KEY_ID, c->name, c->access_key_id_key);
	plan_secret(p, JOBENV_AWS_SECRET_ACCESS_KEY, c->name, c->secret_access_key_key);
	if (c->session_token_key)
		plan_secret(p, JOBENV_AWS_SESSION_TOKEN, c->name, c->session_token_key);
}

static int s3_plan(struct plan *p, const struct api_storage *st)
{
	const struct api_s3 *s = &st->s3;
	struct buf url;
	int first = 1;
	buf_init(&url, 1 << 16);
	buf_addf(&url, "s3://%s", s->bucket);
	add_prefix(&url, s->prefix);
	add_param(&url, &first, "region", s->region);
	if (s->endpoint) {
		char *ep = xstrdup(s->endpoint);
		size_t n = strlen(ep);
		while (n > 0 && ep[n - 1] == '/')
			ep[--n] = '\0';
		add_param(&url, &first, "endpoint", ep);
		free(ep);
	}
	add_param(&url, &first, "style", s->force_path_style ? "path" : NULL);
	add_param(&url, &first, "sse", s->server_side_encryption);
	add_param(&url, &first, "kmsKeyId", s->kms_key_id);
	add_param(&url, &first, "storageClass", s->storage_class);
	add_param(&url, &first, "caBundle", s->ca.name ? STORAGE_CA_FILE : NULL);
	int rc = plan_value(p, JOBENV_STORAGE, buf_take(&url));
	hmac_env(p, &s->credentials);
	if (s->ca.name)
		plan_storage_ca(p, &s->ca);
	return rc;
}

static int gcs_plan(struct plan *p, const struct api_storage *st)
{
	const struct api_gcs *g = &st->gcs;
	struct buf url;
	int first = 1;
	buf_init(&url, 1 << 16);
	buf_addf(&url, "gs://%s", g->bucket);
	add_prefix(&url, g->prefix);
	if (g->endpoint) {
		char *ep = xstrdup(g->endpoint);
		size_t n = strlen(ep);
		while (n > 0 && ep[n - 1] == '/')
			ep[--n] = '\0';
		add_param(&url, &first, "endpoint", ep);
		free(ep);
	}
	int rc = plan_value(p, JOBENV_STORAGE, buf_take(&url));
	if (g->service_account_key_key) {
		/* The key file, mounted read-only; its path is all the Job's
		 * environment says. */
		plan_secret_volume(p, "gcs-key", GCS_KEY_DIR, g->credentials.name,
				   g->service_account_key_key, "key.json", ALL_COMMANDS);
		if (!rc)
			rc = plan_str(p, JOBENV_GOOGLE_APPLICATION_CREDENTIALS, GCS_KEY_FILE);
	} else {
		hmac_env(p, &g->credentials);
	}
	return rc;
}

static int azure_plan(struct plan *p, const struct api_storage *st)
{
	const struct api_azure *a = &st->azure;
	struct buf url;
	int first = 1;
	buf_init(&url, 1 << 16);
	buf_addf(&url, "azure://%s", a->container);
	add_prefix(&url, a->prefix);
	add_param(&url, &first, "account", a->account_name);
	add_param(&url, &first, "endpoint", a->endpoint);
	add_param(&url, &first, "caFile", a->ca.name ? STORAGE_CA_FILE : NULL);
	int rc = plan_value(p, JOBENV_STORAGE, buf_take(&url));
	const struct api_azure_credentials *c = &a->credentials;
	if (c->account_key_key)
		plan_secret(p, JOBENV_AZURE_STORAGE_KEY, c->name, c->account_key_key);
	if (c->sas_token_key)
		plan_secret(p, JOBENV_AZURE_STORAGE_SAS_TOKEN, c->name, c->sas_token_key);
	if (c->connection_string_key)
		plan_secret(p, JOBENV_AZURE_STORAGE_CONNECTION_STRING, c->name,
			    c->connection_string_key);
	if (a->ca.name)
		plan_storage_ca(p, &a->ca);
	return rc;
}

static int volume_plan(struct plan *p, const struct api_storage *st)
{
	const struct api_volume *v = &st->volume;
	struct json_object *claim = json_object_new_object();
	json_object_object_add(claim, "claimName", json_object_new_string(v->claim_name));
	struct json_object *vol = json_object_new_object();
	json_object_object_add(vol, "name", json_object_new_string("backup-volume"));
	json_object_object_add(vol, "persistentVolumeClaim", claim);
	json_object_array_add(p->volumes, vol);
	plan_mount(p, "backup-volume", JOBSPEC_VOLUME_PATH, v->sub_path, 0, ALL_COMMANDS);
	return plan_str(p, JOBENV_STORAGE, "file://" JOBSPEC_VOLUME_PATH);
}

/* One row per backend; the parser's table (api/blocks.c) picked the kind. */
static const struct storage_ops {
	enum api_storage_kind kind;
	int (*plan)(struct plan *p, const struct api_storage *st);
} storage_ops[] = {
    {API_STORAGE_S3, s3_plan},
    {API_STORAGE_AZURE, azure_plan},
    {API_STORAGE_GCS, gcs_plan},
    {API_STORAGE_VOLUME, volume_plan},
};

static int plan_storage(struct plan *p, const struct api_storage *st)
{
	for (size_t i = 0; i < COUNT(storage_ops); i++)
		if (storage_ops[i].kind == st->kind)
			return storage_ops[i].plan(p, st);
	return err_set(E_INVALID, "spec.storage: no storage backend set");
}

/* postgresql://USER@HOST:PORT/DATABASE?sslmode=..: all a URI can say
 * without the password, which is PGPASSWORD from its Secret. */
static char *compose_uri(const struct api_database *d)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	buf_adds(&b, "postgresql://");
	add_encoded(&b, d->user);
	buf_adds(&b, "@");
	if (strchr(d->host, ':') && d->host[0] != '[')
		buf_addf(&b, "[%s]", d->host);
	else
		buf_adds(&b, d->host);
	buf_addf(&b, ":%d/", d->port);
	add_encoded(&b, d->database);
	buf_addf(&b, "?sslmode=%s", d->ssl_mode);
	if (d->ca.name)
		buf_adds(&b, "&sslrootcert=" DB_CA_FILE);
	return buf_take(&b);
}

static int plan_database(struct plan *p, const struct api_database *d)
{
	int rc = 0;
	if (d->connection.name) {
		plan_secret(p, JOBENV_DB, d->connection.name, d->connection.key);
		/* libpq's fallbacks beneath whatever the URI says. */
		rc = plan_value(p, JOBENV_PGPORT, xasprintf("%d", d->port));
		if (!rc && d->database)
			rc = plan_str(p, JOBENV_PGDATABASE, d->database);
		if (!rc)
			rc = plan_str(p, JOBENV_PGSSLMODE, d->ssl_mode);
		if (!rc && d->ca.name)
			rc = plan_str(p, JOBENV_PGSSLROOTCERT, DB_CA_FILE);
	} else {
		rc = plan_value(p, JOBENV_DB, compose_uri(d));
		if (d->password.name)
			plan_secret(p, JOBENV_PGPASSWORD, d->password.name, d->password.key);
	}
	if (!rc)
		rc = plan_value(p, JOBENV_PGCONNECT_TIMEOUT,
				xasprintf("%d", d->connect_timeout_seconds));
	if (!rc && d->schema_version_query)
		rc = plan_str(p, JOBENV_SCHEMA_VERSION_QUERY, d->schema_version_query);
	if (d->ca.name)
		plan_secret_volume(p, "db-ca", DB_CA_DIR, d->ca.name, d->ca.key, "ca.crt",
				   JOBENV_CMD_BACKUP | JOBENV_CMD_RESTORE);
	return rc;
}

/* The emptyDir at /tmp every container has. */
static void plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
	p->volumes = json_object_new_array();
	struct json_object *tmp = json_object_new_object();
	json_object_object_add(tmp, "name", json_object_new_string("tmp"));
	json_object_object_add(tmp, "emptyDir", json_object_new_object());
	json_object_array_add(p->volumes, tmp);
	plan_mount(p, "tmp", "/tmp", NULL, 0, ALL_COMMANDS);
}

/* A stored backup: its folder (namespace and name) and storage. */
static int plan_stored(struct plan *p, const char *ns, const char *name,
		       const struct api_storage *st)
{
	int rc;
	if ((rc = plan_str(p, JOBENV_NAMESPACE, ns)) || (rc = plan_str(p, JOBENV_NAME, name)))
		return rc;
	return plan_storage(p, st);
}

/* The passphrase, as a Secret volume and LIFEBOAT_PASSPHRASE_FILE. */
static int plan_passphrase(struct plan *p, const struct api_encryption *enc)
{
	int rc = 0;
	if (enc->passphrase.name) {
		plan_secret_volume(p, "passphrase", PASSPHRASE_DIR, enc->passphrase.name,
				   enc->passphrase.key, "passphrase",
				   JOBENV_CMD_BACKUP | JOBENV_CMD_RESTORE | JOBENV_CMD_VERIFY);
		rc = plan_str(p, JOBENV_PASSPHRASE_FILE, PASSPHRASE_FILE);
	}
	return rc;
}

/* Everything a backup's Jobs can need; each container takes its share. */
static int plan_backup(struct plan *p, const struct api_backup *b)
{
	const struct api_backup_spec *s = &b->spec;
	int rc;
	plan_init(p);
	if ((rc = plan_stored(p, b->meta.namespace_, b->meta.name, &s->storage)) ||
	    (rc = plan_database(p, &s->database)) || (rc = plan_str(p, JOBENV_FORMAT, s->format)) ||
	    (rc = plan_str(p, JOBENV_COMPRESSION, s->compression)) ||
	    (rc = plan_passphrase(p, &s->encryption)))
		return rc;
	return plan_str(p, JOBENV_LOG_LEVEL, s->job_template.log_level);
}

/* spec.files: the whole claim read-only at JOBSPEC_FILES_PATH for the backup
 * container, LIFEBOAT_FILES the folder inside it (a missing folder is the
 * job's error, naming it, rather than one the kubelet would create). */
static int plan_files(struct plan *p, const struct api_files *f)
{
	if (!f->claim_name)
		return 0;
	struct json_object *claim = json_object_new_object();
	json_object_object_add(claim, "claimName", json_object_new_string(f->claim_name));
	json_object_object_add(claim, "readOnly", json_object_new_boolean(1));
	struct json_object *vol = json_object_new_object();
	json_object_object_add(vol, "name", json_object_new_string("files"));
	json_object_object_add(vol, "persistentVolumeClaim", claim);
	json_object_array_add(p->volumes, vol);
	plan_mount(p, "files", JOBSPEC_FILES_PATH, NULL, 1, JOBENV_CMD_BACKUP);
	if (!f->path)
		return plan_str(p, JOBENV_FILES, JOBSPEC_FILES_PATH);
	size_t n = strlen(f->path);
	while (n > 0 && f->path[n - 1] == '/')
		n--;
	return plan_value(p, JOBENV_FILES, xasprintf(JOBSPEC_FILES_PATH "/%.*s", (int)n, f->path));
}

/* --- the Job --- */

static struct json_object *str(const char *s)
{
	return json_object_new_string(s);
}

static struct json_object *kv_object(const struct api_kv *kv, size_t n)
{
	struct json_object *o = json_object_new_object();
	for (size_t i = 0; i < n; i++)
		json_object_object_add(o, kv[i].key, str(kv[i].value));
	return o;
}

static struct json_object *container(const struct plan *p, const char *name, const char *command,
				     unsigned bit, const char *image,
				     const struct api_job_template *t)
{
	struct json_object *c = json_object_new_object();
	json_object_object_add(c, "name", str(name));
	json_object_object_add(c, "image", str(image));
	if (t->image_pull_policy)
		json_object_object_add(c, "imagePullPolicy", str(t->image_pull_policy));
	struct json_object *args = json_object_new_array();
	json_object_array_add(args, str(command));
	json_object_object_add(c, "args", args);
	struct json_object *env = json_object_new_array();
	for (size_t i = 0; i < p->nenv; i++) {
		const struct env *e = &p->env[i];
		if (!(jobenv_get(e->var)->commands & bit))
			continue;
		struct json_object *v = json_object_new_object();
		json_object_object_add(v, "name", str(jobenv_name(e->var)));
		if (e->value) {
			json_object_object_add(v, "value", str(e->value));
		} else {
			struct json_object *ref = json_object_new_object();
			json_object_object_add(ref, "name", str(e->secret_name));
			json_object_object_add(ref, "key", str(e->secret_key));
			struct json_object *from = json_object_new_object();
			json_object_object_add(from, "secretKeyRef", ref);
			json_object_object_add(v, "valueFrom", from);
		}
		json_object_array_add(env, v);
	}
	json_object_object_add(c, "env", env);
	if (t->nrequests || t->nlimits) {
		struct json_object *r = json_object_new_object();
		if (t->nrequests)
			json_object_object_add(r, "requests", kv_object(t->requests, t->nrequests));
		if (t->nlimits)
			json_object_object_add(r, "limits", kv_object(t->limits, t->nlimits));
		json_object_object_add(c, "resources", r);
	}
	struct json_object *mounts = json_object_new_array();
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct mount *m = &p->mounts[i];
		if (!(m->commands & bit))
			continue;
		struct json_object *v = json_object_new_object();
		json_object_object_add(v, "name", str(m->volume));
		json_object_object_add(v, "mountPath", str(m->path));
		if (m->sub_path) {
			char *sp = xstrdup(m->sub_path);
			size_t n = strlen(sp);
			while (n > 0 && sp[n - 1] == '/')
				sp[--n] = '\0';
			json_object_object_add(v, "subPath", str(sp));
			free(sp);
		}
		if (m->read_only)
			json_object_object_add(v, "readOnly", json_object_new_boolean(1));
		json_object_array_add(mounts, v);
	}
	json_object_object_add(c, "volumeMounts", mounts);
	struct json_object *sc = json_object_new_object();
	json_object_object_add(sc, "allowPrivilegeEscalation", json_object_new_boolean(0));
	json_object_object_add(sc, "privileged", json_object_new_boolean(0));
	json_object_object_add(sc, "readOnlyRootFilesystem", json_object_new_boolean(1));
	json_object_object_add(sc, "runAsNonRoot", json_object_new_boolean(1));
	struct json_object *caps = json_object_new_object(), *drop = json_object_new_array();
	json_object_array_add(drop, str("ALL"));
	json_object_object_add(caps, "drop", drop);
	json_object_object_add(sc, "capabilities", caps);
	struct json_object *seccomp = json_object_new_object();
	json_object_object_add(seccomp, "type", str("RuntimeDefault"));
	json_object_object_add(sc, "seccompProfile", seccomp);
	json_object_object_add(c, "securityContext", sc);
	json_object_object_add(c, "terminationMessagePath", str(JOBSPEC_TERMINATION_PATH));
	json_object_object_add(c, "terminationMessagePolicy", str("FallbackToLogsOnError"));
	return c;
}

static struct json_object *pod_security(const struct api_pod_security *ps)
{
	struct json_object *sc = json_object_new_object();
	json_object_object_add(sc, "runAsNonRoot", json_object_new_boolean(1));
	json_object_object_add(
	    sc, "runAsUser",
	    json_object_new_int64(ps->has_run_as_user ? ps->run_as_user : JOBSPEC_DEFAULT_UID));
	json_object_object_add(
	    sc, "runAsGroup",
	    json_object_new_int64(ps->has_run_as_group ? ps->run_as_group : JOBSPEC_DEFAULT_UID));
	json_object_object_add(
	    sc, "fsGroup",
	    json_object_new_int64(ps->has_fs_group ? ps->fs_group : JOBSPEC_DEFAULT_UID));
	/* Only where ownership is wrong: a large backup volume is not walked
	 * on every run. */
	json_object_object_add(sc, "fsGroupChangePolicy", str("OnRootMismatch"));
	if (ps->nsupplemental_groups) {
		struct json_object *g = json_object_new_array();
		for (size_t i = 0; i < ps->nsupplemental_groups; i++)
			json_object_array_add(g, json_object_new_int64(ps->supplemental_groups[i]));
		json_object_object_add(sc, "supplementalGroups", g);
	}
	struct json_object *seccomp = json_object_new_object();
	json_object_object_add(seccomp, "type", str("RuntimeDefault"));
	json_object_object_add(sc, "seccompProfile", seccomp);
	return sc;
}

static struct json_object *tolerations(const struct api_job_template *t)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < t->ntolerations; i++) {
		const struct api_toleration *x = &t->tolerations[i];
		struct json_object *o = json_object_new_object();
		if (x->key)
			json_object_object_add(o, "key", str(x->key));
		if (x->operator_)
			json_object_object_add(o, "operator", str(x->operator_));
		if (x->value)
			json_object_object_add(o, "value", str(x->value));
		if (x->effect)
			json_object_object_add(o, "effect", str(x->effect));
		if (x->has_toleration_seconds)
			json_object_object_add(o, "tolerationSeconds",
					       json_object_new_int64(x->toleration_seconds));
		json_object_array_add(a, o);
	}
	return a;
}

/* The job's exit statuses that no retry can change (docs/job.md). */
static struct json_object *permanent_exit_codes(void)
{
	static const int codes[] = {E_INVALID,	E_INTEGRITY, E_PASSPHRASE, E_VERSION,
				    E_NOTFOUND, E_EXISTS,    E_UNSUPPORTED};
	int status[COUNT(codes)];
	size_t n = 0;
	for (size_t i = 0; i < COUNT(codes); i++) {
		int s = err_exit_status(codes[i]), seen = 0;
		for (size_t k = 0; k < n; k++)
			seen |= status[k] == s;
		if (!seen && s != 0)
			status[n++] = s;
	}
	/* Kubernetes wants them in ascending order. */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && status[k - 1] > status[k]; k--) {
			int x = status[k];
			status[k] = status[k - 1];
			status[k - 1] = x;
		}
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int(status[i]));
	return a;
}

static struct json_object *fail_rule(const char *container_name, const char *op,
				     struct json_object *values)
{
	struct json_object *codes = json_object_new_object();
	json_object_object_add(codes, "containerName", str(container_name));
	json_object_object_add(codes, "operator", str(op));
	json_object_object_add(codes, "values", values);
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "action", str("FailJob"));
	json_object_object_add(r, "onExitCodes", codes);
	return r;
}

struct step {
	const char *container; /* its name */
	const char *command;   /* the job's command word */
	unsigned bit;	       /* JOBENV_CMD_* */
	int any_failure_fails; /* FailJob on every non-zero exit, not only permanent ones */
};

static int labels_valid(const struct jobspec_opts *o)
{
	for (size_t i = 0; i < o->nlabels; i++)
		if (!o->labels[i].key || !o->labels[i].value ||
		    !api_valid_label_key(o->labels[i].key) ||
		    !api_valid_label_value(o->labels[i].value))
			return err_set(E_INVALID, "operator label %s=%s is not a valid label",
				       o->labels[i].key ? o->labels[i].key : "",
				       o->labels[i].value ? o->labels[i].value : "");
	return 0;
}

/* The resource a Job works for: its owner, and where its labels come from. */
struct job_owner {
	const char *kind;		     /* API_BACKUP_KIND, API_RESTORE_KIND */
	const struct api_meta *meta;	     /* name, namespace, uid */
	const struct api_job_template *tmpl; /* its jobTemplate */
	const char *label;		     /* JOBSPEC_LABEL_BACKUP | JOBSPEC_LABEL_RESTORE */
};

static struct json_object *labels(const struct job_owner *w, const struct jobspec_opts *o,
				  const char *component)
{
	const struct api_job_template *t = w->tmpl;
	struct json_object *l = kv_object(t->pod_labels, t->npod_labels);
	for (size_t i = 0; i < o->nlabels; i++)
		json_object_object_add(l, o->labels[i].key, str(o->labels[i].value));
	char *instance = jobspec_label_value(w->meta->name);
	json_object_object_add(l, JOBSPEC_LABEL_NAME, str("lifeboat"));
	json_object_object_add(l, JOBSPEC_LABEL_COMPONENT, str(component));
	json_object_object_add(l, JOBSPEC_LABEL_MANAGED_BY, str("lifeboat-operator"));
	json_object_object_add(l, JOBSPEC_LABEL_INSTANCE, str(instance));
	json_object_object_add(l, w->label, str(instance));
	free(instance);
	return l;
}

static struct json_object *owner(const struct job_owner *w)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "apiVersion", str(API_GROUP_VERSION));
	json_object_object_add(r, "kind", str(w->kind));
	json_object_object_add(r, "name", str(w->meta->name));
	json_object_object_add(r, "uid", str(w->meta->uid));
	json_object_object_add(r, "controller", json_object_new_boolean(1));
	json_object_object_add(r, "blockOwnerDeletion", json_object_new_boolean(1));
	struct json_object *a = json_object_new_array();
	json_object_array_add(a, r);
	return a;
}

/* The volumes of p that a container of the used commands mounts. */
static struct json_object *used_volumes(const struct plan *p, unsigned used)
{
	struct json_object *vols = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(p->volumes); i++) {
		struct json_object *v = json_object_array_get_idx(p->volumes, i), *name = NULL;
		json_object_object_get_ex(v, "name", &name);
		int mounted = 0;
		for (size_t k = 0; k < p->nmounts; k++)
			mounted |= (p->mounts[k].commands & used) &&
				   strcmp(p->mounts[k].volume, json_object_get_string(name)) == 0;
		if (mounted)
			json_object_array_add(vols, json_object_get(v));
	}
	return vols;
}

/* The pod spec: steps run in order, the last one as the container, the ones
 * before as init containers. *rules gets the podFailurePolicy rules. */
static struct json_object *pod_spec(struct json_object **rules, const struct plan *p,
				    const struct api_job_template *t, const char *image,
				    const char *sa, const struct step *steps, size_t nsteps)
{
	struct json_object *pod = json_object_new_object();
	json_object_object_add(pod, "restartPolicy", str("Never"));
	if (sa && *sa)
		json_object_object_add(pod, "serviceAccountName", str(sa));
	json_object_object_add(pod, "automountServiceAccountToken", json_object_new_boolean(0));
	json_object_object_add(pod, "enableServiceLinks", json_object_new_boolean(0));
	json_object_object_add(pod, "securityContext", pod_security(&t->pod_security));
	if (t->nimage_pull_secrets) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < t->nimage_pull_secrets; i++) {
			struct json_object *s = json_object_new_object();
			json_object_object_add(s, "name", str(t->image_pull_secrets[i]));
			json_object_array_add(a, s);
		}
		json_object_object_add(pod, "imagePullSecrets", a);
	}
	if (t->nnode_selector)
		json_object_object_add(pod, "nodeSelector",
				       kv_object(t->node_selector, t->nnode_selector));
	if (t->ntolerations)
		json_object_object_add(pod, "tolerations", tolerations(t));
	if (t->affinity) {
		struct json_object *copy = NULL;
		json_object_deep_copy(t->affinity, &copy, NULL);
		json_object_object_add(pod, "affinity", copy);
	}
	if (t->priority_class_name)
		json_object_object_add(pod, "priorityClassName", str(t->priority_class_name));
	unsigned used = 0;
	struct json_object *init = json_object_new_array(), *main_c = json_object_new_array();
	*rules = json_object_new_array();
	for (size_t i = 0; i < nsteps; i++) {
		const struct step *s = &steps[i];
		used |= s->bit;
		json_object_array_add(i + 1 < nsteps ? init : main_c,
				      container(p, s->container, s->command, s->bit, image, t));
		struct json_object *zero = NULL;
		if (s->any_failure_fails) {
			zero = json_object_new_array();
			json_object_array_add(zero, json_object_new_int(0));
		}
		json_object_array_add(*rules,
				      zero ? fail_rule(s->container, "NotIn", zero)
					   : fail_rule(s->container, "In", permanent_exit_codes()));
	}
	if (json_object_array_length(init))
		json_object_object_add(pod, "initContainers", init);
	else
		json_object_put(init);
	json_object_object_add(pod, "containers", main_c);
	json_object_object_add(pod, "volumes", used_volumes(p, used));
	return pod;
}

/* The Job around the pod of steps. */
static int build(struct json_object **out, const struct job_owner *w, const struct jobspec_opts *o,
		 const struct plan *p, const char *suffix, const char *component,
		 const struct step *steps, size_t nsteps, int backoff_limit, int keep)
{
	const struct api_job_template *t = w->tmpl;
	const char *image = t->image ? t->image : o->image;
	const char *sa = t->service_account_name ? t->service_account_name : o->service_account;
	struct json_object *rules = NULL;
	int rc;
	if (!image || !*image)
		return err_set(E_INVALID, "spec.jobTemplate.image: no job image: set it, or start "
					  "the operator with --job-image");
	if ((rc = labels_valid(o)))
		return rc;
	struct json_object *pod = pod_spec(&rules, p, t, image, sa, steps, nsteps);
	struct json_object *tmeta = json_object_new_object();
	json_object_object_add(tmeta, "labels", labels(w, o, component));
	if (t->npod_annotations)
		json_object_object_add(tmeta, "annotations",
				       kv_object(t->pod_annotations, t->npod_annotations));
	struct json_object *tmpl = json_object_new_object();
	json_object_object_add(tmpl, "metadata", tmeta);
	json_object_object_add(tmpl, "spec", pod);

	struct json_object *policy = json_object_new_object();
	json_object_object_add(policy, "rules", rules);
	struct json_object *spec = json_object_new_object();
	json_object_object_add(
	    spec, "backoffLimit",
	    json_object_new_int(backoff_limit < 0 ? t->backoff_limit : backoff_limit));
	json_object_object_add(spec, "activeDeadlineSeconds",
			       json_object_new_int64(t->active_deadline_seconds));
	if (t->has_ttl_seconds_after_finished && !keep)
		json_object_object_add(spec, "ttlSecondsAfterFinished",
				       json_object_new_int(t->ttl_seconds_after_finished));
	json_object_object_add(spec, "podFailurePolicy", policy);
	json_object_object_add(spec, "template", tmpl);

	char *name = jobspec_job_name(w->meta->name, suffix);
	struct json_object *meta = json_object_new_object();
	json_object_object_add(meta, "name", str(name));
	json_object_object_add(meta, "namespace", str(w->meta->namespace_));
	json_object_object_add(meta, "labels", labels(w, o, component));
	json_object_object_add(meta, "ownerReferences", owner(w));
	free(name);

	struct json_object *job = json_object_new_object();
	json_object_object_add(job, "apiVersion", str("batch/v1"));
	json_object_object_add(job, "kind", str("Job"));
	json_object_object_add(job, "metadata", meta);
	json_object_object_add(job, "spec", spec);
	*out = job;
	return 0;
}

int jobspec_backup(struct json_object **out, const struct api_backup *b,
		   const struct jobspec_opts *o)
{
	static const struct step with_verify[] = {
	    {JOBSPEC_CONTAINER_BACKUP, "backup", JOBENV_CMD_BACKUP, 0},
	    {JOBSPEC_CONTAINER_VERIFY, "verify", JOBENV_CMD_VERIFY, 1},
	};
	struct plan p;
	int rc;
	const struct job_owner w = {API_BACKUP_KIND, &b->meta, &b->spec.job_template,
				    JOBSPEC_LABEL_BACKUP};
	if (!(rc = plan_backup(&p, b)) && !(rc = plan_files(&p, &b->spec.files)))
		rc = build(out, &w, o, &p, JOBSPEC_SUFFIX_BACKUP, "backup", with_verify,
			   b->spec.verify ? 2 : 1, -1, 0);
	plan_dispose(&p);
	return rc;
}

int jobspec_delete(struct json_object **out, const struct api_backup *b,
		   const struct jobspec_opts *o)
{
	static const struct step del[] = {
	    {JOBSPEC_CONTAINER_DELETE, "delete", JOBENV_CMD_DELETE, 0},
	};
	struct plan p;
	int rc;
	if (!api_backup_deletes_storage(b))
		return err_set(E_INVALID, "spec.deletionPolicy: Retain: the stored backup is kept, "
					  "no delete Job is made");
	const struct job_owner w = {API_BACKUP_KIND, &b->meta, &b->spec.job_template,
				    JOBSPEC_LABEL_BACKUP};
	if (!(rc = plan_backup(&p, b)))
		rc = build(out, &w, o, &p, JOBSPEC_SUFFIX_DELETE, "delete", del, 1, -1, 0);
	plan_dispose(&p);
	return rc;
}

/* spec.files of a restore: the claim read-write at JOBSPEC_FILES_PATH and
 * LIFEBOAT_FILES the folder inside it, which the job swaps in beside its old
 * self (so it cannot be the volume's root). */
static int plan_restore_files(struct plan *p, const struct api_files *f)
{
	if (!f->claim_name)
		return 0;
	size_t n = f->path ? strlen(f->path) : 0;
	while (n > 0 && f->path[n - 1] == '/')
		n--;
	if (n == 0)
		return err_set(E_INVALID,
			       "spec.files.path: required for a restore: the files are unpacked "
			       "beside the folder and swapped in, which cannot be done to the "
			       "volume's root; give the folder inside claim %s",
			       f->claim_name);
	struct json_object *claim = json_object_new_object();
	json_object_object_add(claim, "claimName", json_object_new_string(f->claim_name));
	struct json_object *vol = json_object_new_object();
	json_object_object_add(vol, "name", json_object_new_string("files"));
	json_object_object_add(vol, "persistentVolumeClaim", claim);
	json_object_array_add(p->volumes, vol);
	plan_mount(p, "files", JOBSPEC_FILES_PATH, NULL, 0, JOBENV_CMD_RESTORE);
	return plan_value(p, JOBENV_FILES, xasprintf(JOBSPEC_FILES_PATH "/%.*s", (int)n, f->path));
}

static int plan_restore(struct plan *p, const struct jobspec_restore_in *in)
{
	const struct api_restore_spec *s = &in->restore->spec;
	int rc;
	plan_init(p);
	if ((rc = plan_stored(p, in->backup_namespace, in->backup_name, in->storage)) ||
	    (rc = plan_database(p, in->target)) || (rc = plan_passphrase(p, in->encryption)))
		return rc;
	if (!in->target->schema_version_query && in->schema_version_query &&
	    (rc = plan_str(p, JOBENV_SCHEMA_VERSION_QUERY, in->schema_version_query)))
		return rc;
	if ((rc = plan_str(p, JOBENV_CONFIRM, s->confirm)) ||
	    (rc = plan_str(p, JOBENV_CLEAN, s->clean ? "true" : "false")) ||
	    (rc = plan_str(p, JOBENV_SCHEMA_POLICY, s->schema_policy)) ||
	    (rc = plan_str(p, JOBENV_RESTORE_NAME, in->restore->meta.name)) ||
	    (rc = plan_str(p, JOBENV_RESTORE_NAMESPACE, in->restore->meta.namespace_)) ||
	    (rc = plan_str(p, JOBENV_REQUESTED_BY, in->requested_by)))
		return rc;
	if (ctl_jobspec_eq(s->ownership_mode, "NoOwner") &&
	    (rc = plan_str(p, JOBENV_NO_OWNER, "true")))
		return rc;
	if (s->ownership_role && (rc = plan_str(p, JOBENV_ROLE, s->ownership_role)))
		return rc;
	if (ctl_jobspec_eq(s->privileges, "Skip") &&
	    (rc = plan_str(p, JOBENV_NO_PRIVILEGES, "true")))
		return rc;
	if (in->safety_name) {
		if ((rc = plan_str(p, JOBENV_SAFETY_BACKUP_NAME, in->safety_name)) ||
		    (in->safety_location &&
		     (rc = plan_str(p, JOBENV_SAFETY_BACKUP_LOCATION, in->safety_location))) ||
		    (in->safety_sha256 &&
		     (rc = plan_str(p, JOBENV_SAFETY_BACKUP_SHA256, in->safety_sha256))))
			return rc;
	} else if ((rc = plan_str(p, JOBENV_NO_SAFETY_BACKUP, "true"))) {
		return rc;
	}
	if ((rc = plan_restore_files(p, &s->files)))
		return rc;
	return plan_str(p, JOBENV_LOG_LEVEL, s->job_template.log_level);
}

int jobspec_restore(struct json_object **out, const struct jobspec_restore_in *in,
		    const struct jobspec_opts *o)
{
	static const struct step restore[] = {
	    {JOBSPEC_CONTAINER_RESTORE, "restore", JOBENV_CMD_RESTORE, 0},
	};
	struct plan p;
	const struct job_owner w = {API_RESTORE_KIND, &in->restore->meta,
				    &in->restore->spec.job_template, JOBSPEC_LABEL_RESTORE};
	int rc = plan_restore(&p, in);
	/* backoffLimit 0: a restore that may have changed the target is never
	 * run again by itself (docs/api.md); no TTL: the finished Job stays
	 * (until the restore is deleted) as the proof it ran, so a lost status
	 * write can never lead to a second run */
	if (!rc)
		rc = build(out, &w, o, &p, JOBSPEC_SUFFIX_RESTORE, "restore", restore, 1, 0, 1);
	plan_dispose(&p);
	return rc;
}
