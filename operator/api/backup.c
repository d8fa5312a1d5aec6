/* DatabaseBackup: spec parsing, defaults and validation. */
#include "operator/api/backup.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/xmalloc.h"

/* ^(zstd(:([1-9]|1[0-9]))?|gzip(:[1-9])?|none)$ */
/* A level 1..max at p, ending at stop; returns it, or 0. */
static int level_at(const char *p, int max, char stop, const char **end)
{
	if (!isdigit((unsigned char)p[0]) || p[0] == '0')
		return 0;
	int v = p[0] - '0', i = 1;
	if (isdigit((unsigned char)p[1])) {
		v = v * 10 + (p[1] - '0');
		i = 2;
	}
	if (p[i] != stop || v > max)
		return 0;
	if (end)
		*end = p + i;
	return v;
}

/* As the job's compress_parse: zstd[:1-19], zstd:auto[:LOW-HIGH], gzip[:1-9],
 * none. */
static int valid_compression(const char *s)
{
	if (strcmp(s, "none") == 0 || strcmp(s, "zstd") == 0 || strcmp(s, "gzip") == 0 ||
	    strcmp(s, "zstd:auto") == 0)
		return 1;
	if (strncmp(s, "zstd:auto:", 10) == 0) {
		const char *dash;
		int lo = level_at(s + 10, 19, '-', &dash);
		int hi = lo ? level_at(dash + 1, 19, '\0', NULL) : 0;
		return lo && hi && lo <= hi;
	}
	int max = strncmp(s, "zstd:", 5) == 0 ? 19 : strncmp(s, "gzip:", 5) == 0 ? 9 : 0;
	return max && level_at(s + 5, max, '\0', NULL) != 0;
}

void api_backup_spec_dispose(struct api_backup_spec *s)
{
	api_database_dispose(&s->database);
	api_storage_dispose(&s->storage);
	api_encryption_dispose(&s->encryption);
	free(s->format);
	free(s->compression);
	api_files_dispose(&s->files);
	free(s->deletion_policy);
	api_job_template_dispose(&s->job_template);
	memset(s, 0, sizeof(*s));
}

/* A required object field at path.key, parsed by parse. */
static int block(struct json_object *o, const char *path, const char *key, int required_,
		 int (*parse)(void *out, struct json_object *v, const char *p), void *out)
{
	struct json_object *v = NULL;
	int rc = api_field_object(&v, o, path, key);
	if (!rc && !v && required_)
		rc = err_set(E_INVALID, "%s.%s: required", path, key);
	if (!rc && v) {
		char *p = xasprintf("%s.%s", path, key);
		rc = parse(out, v, p);
		free(p);
	}
	return rc;
}

static int parse_database(void *out, struct json_object *v, const char *p)
{
	return api_database_parse(out, v, p);
}

static int parse_storage(void *out, struct json_object *v, const char *p)
{
	return api_storage_parse(out, v, p);
}

static int parse_encryption(void *out, struct json_object *v, const char *p)
{
	return api_encryption_parse(out, v, p);
}

static int parse_files(void *out, struct json_object *v, const char *p)
{
	return api_files_parse(out, v, p);
}

int api_backup_spec_parse(struct api_backup_spec *out, struct json_object *spec, const char *path)
{
	static const char *const known[] = {
	    "database", "storage", "encryption",     "format",	    "compression",
	    "verify",	"files",   "deletionPolicy", "jobTemplate", NULL};
	static const char *const formats[] = {"custom", "plain", NULL};
	static const char *const policies[] = {"Retain", "Delete", NULL};
	struct api_backup_spec s = {0};
	struct json_object *jt = NULL;
	char *jt_path = xasprintf("%s.jobTemplate", path);
	int rc;
	s.verify = 1;
	if ((rc = api_check_known(spec, path, known)) ||
	    (rc = block(spec, path, "database", 1, parse_database, &s.database)) ||
	    (rc = block(spec, path, "storage", 1, parse_storage, &s.storage)) ||
	    (rc = block(spec, path, "encryption", 0, parse_encryption, &s.encryption)) ||
	    (rc = api_field_enum(&s.format, spec, path, "format", formats)) ||
	    (rc = api_field_string(&s.compression, spec, path, "compression", 1, 16)) ||
	    (rc = api_field_bool(&s.verify, spec, path, "verify")) ||
	    (rc = block(spec, path, "files", 0, parse_files, &s.files)) ||
	    (rc = api_field_enum(&s.deletion_policy, spec, path, "deletionPolicy", policies)) ||
	    (rc = api_field_object(&jt, spec, path, "jobTemplate")) ||
	    (rc = api_job_template_parse(&s.job_template, jt, jt_path)))
		goto done;
	if (s.compression && !valid_compression(s.compression)) {
		rc = err_set(E_INVALID,
			     "%s.compression: \"%s\" is not zstd:auto, zstd:auto:LOW-HIGH "
			     "(LOW <= HIGH), zstd[:LEVEL] with LEVEL 1-19, gzip[:LEVEL] with "
			     "LEVEL 1-9, or none",
			     path, s.compression);
		goto done;
	}
	if (!s.format)
		s.format = xstrdup(API_DEFAULT_FORMAT);
	if (!s.compression)
		s.compression = xstrdup(API_DEFAULT_COMPRESSION);
	if (!s.deletion_policy)
		s.deletion_policy = xstrdup(API_DEFAULT_DELETION_POLICY);
	*out = s;
	memset(&s, 0, sizeof(s));
done:
	api_backup_spec_dispose(&s);
	free(jt_path);
	return rc;
}

void api_backup_free(struct api_backup *b)
{
	if (!b)
		return;
	api_meta_dispose(&b->meta);
	api_backup_spec_dispose(&b->spec);
	free(b);
}

int api_backup_parse(struct api_backup **out, struct json_object *obj)
{
	struct api_backup *b = xcalloc(1, sizeof(*b));
	struct json_object *spec = NULL;
	int rc;
	if ((rc = api_object_head(&b->meta, &spec, obj, API_BACKUP_KIND)))
		goto done;
	if ((rc = api_backup_spec_parse(&b->spec, spec, "spec")) ||
	    (rc = api_storage_check_keys(&b->spec.storage, "spec.storage", b->meta.namespace_,
					 b->meta.name)))
		goto done;
	*out = b;
	b = NULL;
done:
	api_backup_free(b);
	return rc;
}

int api_backup_deletes_storage(const struct api_backup *b)
{
	return strcmp(b->spec.deletion_policy, "Delete") == 0;
}
