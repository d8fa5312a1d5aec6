/* DatabaseRestore: spec parsing, defaults and validation. */
#include "operator/api/restore.h"

#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/xmalloc.h"

static void spec_dispose(struct api_restore_spec *s)
{
	free(s->backup_ref);
	api_storage_dispose(&s->source_storage);
	free(s->source_namespace);
	free(s->source_name);
	api_encryption_dispose(&s->source_encryption);
	api_database_dispose(&s->target);
	free(s->confirm);
	api_storage_dispose(&s->safety_storage);
	free(s->schema_policy);
	free(s->ownership_mode);
	free(s->ownership_role);
	free(s->privileges);
	api_files_dispose(&s->files);
	api_job_template_dispose(&s->job_template);
	memset(s, 0, sizeof(*s));
}

/* <namespace>/<name>[/]: a namespace and a backup name, as `lifeboat list`
 * prints them (the CRD's pattern lets "a..b" through as a name). */
static int split_path(struct api_restore_spec *s, const char *path, const char *p)
{
	const char *slash = strchr(path, '/');
	char *ns = slash ? xstrndup(path, (size_t)(slash - path)) : NULL;
	char *name = slash ? xstrdup(slash + 1) : NULL;
	size_t n = name ? strlen(name) : 0;
	if (n > 0 && name[n - 1] == '/')
		name[--n] = '\0';
	int rc = 0;
	if (!ns || !api_valid_dns_label(ns) || !api_valid_dns_subdomain(name, 253))
		rc = err_set(E_INVALID,
			     "%s: \"%s\" is not <namespace>/<name> as lifeboat list prints "
			     "it, e.g. app/nightly-202611210200",
			     p, path);
	if (rc) {
		free(ns);
		free(name);
	} else {
		s->source_namespace = ns;
		s->source_name = name;
	}
	return rc;
}

static int source_parse(struct api_restore_spec *s, struct json_object *o, const char *p)
{
	static const char *const known[] = {"storage", "path", "encryption", NULL};
	struct json_object *st = NULL, *enc = NULL;
	char *path = NULL, *sp = xasprintf("%s.storage", p), *pp = xasprintf("%s.path", p);
	char *ep = xasprintf("%s.encryption", p);
	int rc;
	if ((rc = api_check_known(o, p, known)) || (rc = api_field_object(&st, o, p, "storage")))
		goto done;
	if (!st) {
		rc = err_set(E_INVALID, "%s: required: where the backup is stored", sp);
		goto done;
	}
	if ((rc = api_storage_parse(&s->source_storage, st, sp)) ||
	    (rc = api_field_string(&path, o, p, "path", 1, 317)))
		goto done;
	if (!path) {
		rc = err_set(E_INVALID, "%s: required: <namespace>/<name> of the backup", pp);
		goto done;
	}
	if ((rc = split_path(s, path, pp)) ||
	    (rc = api_storage_check_keys(&s->source_storage, sp, s->source_namespace,
					 s->source_name)) ||
	    (rc = api_field_object(&enc, o, p, "encryption")) ||
	    (enc && (rc = api_encryption_parse(&s->source_encryption, enc, ep))))
		goto done;
	s->has_source = 1;
done:
	free(path);
	free(sp);
	free(pp);
	free(ep);
	return rc;
}

static int safety_parse(struct api_restore_spec *s, struct json_object *o, const char *p)
{
	static const char *const known[] = {"enabled", "storage", NULL};
	struct json_object *st = NULL;
	char *sp = xasprintf("%s.storage", p);
	int rc;
	if ((rc = api_check_known(o, p, known)) ||
	    (rc = api_field_bool(&s->safety_enabled, o, p, "enabled")) ||
	    (rc = api_field_object(&st, o, p, "storage")))
		goto done;
	if (st && !s->safety_enabled) {
		rc = err_set(E_INVALID,
			     "%s: storage is set but enabled is false: no safety backup "
			     "would be taken",
			     p);
		goto done;
	}
	if (st && !(rc = api_storage_parse(&s->safety_storage, st, sp)))
		s->has_safety_storage = 1;
done:
	free(sp);
	return rc;
}

static int no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int spec_parse(struct api_restore_spec *out, struct json_object *o, const char *path)
{
	static const char *const known[] = {"backupRef",    "source", "target",	      "confirm",
					    "safetyBackup", "clean",  "schemaPolicy", "ownership",
					    "privileges",   "files",  "jobTemplate",  NULL};
	static const char *const ref_known[] = {"name", NULL};
	static const char *const own_known[] = {"mode", "role", NULL};
	static const char *const schema_policies[] = {"Ignore", "Warn", "RequireMatch", NULL};
	static const char *const modes[] = {"Keep", "NoOwner", NULL};
	static const char *const privileges[] = {"Keep", "Skip", NULL};
	struct api_restore_spec s = {0};
	struct json_object *ref = NULL, *src = NULL, *tgt = NULL, *safety = NULL, *own = NULL;
	struct json_object *files = NULL, *jt = NULL;
	char *p_ref = xasprintf("%s.backupRef", path), *p_src = xasprintf("%s.source", path);
	char *p_tgt = xasprintf("%s.target", path), *p_safety = xasprintf("%s.safetyBackup", path);
	char *p_own = xasprintf("%s.ownership", path), *p_files = xasprintf("%s.files", path);
	char *p_jt = xasprintf("%s.jobTemplate", path);
	int rc;
	s.safety_enabled = 1;
	s.clean = 1;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = api_field_object(&ref, o, path, "backupRef")))
		goto done;
	if (ref && ((rc = api_check_known(ref, p_ref, ref_known)) ||
		    (rc = api_field_string(&s.backup_ref, ref, p_ref, "name", 1, 253))))
		goto done;
	if (ref && (!s.backup_ref || !api_valid_dns_subdomain(s.backup_ref, 253))) {
		rc = err_set(E_INVALID, "%s.name: %s", p_ref,
			     s.backup_ref ? "not a valid DatabaseBackup name" : "required");
		goto done;
	}
	if ((rc = api_field_object(&src, o, path, "source")) ||
	    (src && (rc = source_parse(&s, src, p_src))))
		goto done;
	if (!ref == !src) {
		rc = err_set(
		    E_INVALID, "%s: %s", path,
		    ref ? "set exactly one of backupRef and source, not both"
			: "set exactly one of backupRef (a DatabaseBackup in this namespace) "
			  "and source (a backup in storage)");
		goto done;
	}
	if ((rc = api_field_object(&tgt, o, path, "target")) ||
	    (tgt && (rc = api_database_parse(&s.target, tgt, p_tgt))))
		goto done;
	s.has_target = tgt != NULL;
	if (src && !tgt) {
		rc = err_set(E_INVALID,
			     "%s: required: target is required with source: there is no "
			     "DatabaseBackup to take the database from",
			     p_tgt);
		goto done;
	}
	if ((rc = api_field_string(&s.confirm, o, path, "confirm", 1, 63)))
		goto done;
	if (!s.confirm) {
		rc = err_set(E_INVALID,
			     "%s.confirm: required: the target database's name, typed as a "
			     "confirmation that it may be overwritten",
			     path);
		goto done;
	}
	if (tgt && s.target.database && strcmp(s.confirm, s.target.database) != 0) {
		rc = err_set(E_INVALID,
			     "%s.confirm: confirm must equal the target database name: "
			     "confirm is \"%s\", target.database is \"%s\"",
			     path, s.confirm, s.target.database);
		goto done;
	}
	if ((rc = api_field_object(&safety, o, path, "safetyBackup")) ||
	    (safety && (rc = safety_parse(&s, safety, p_safety))) ||
	    (rc = api_field_bool(&s.clean, o, path, "clean")) ||
	    (rc = api_field_enum(&s.schema_policy, o, path, "schemaPolicy", schema_policies)) ||
	    (rc = api_field_object(&own, o, path, "ownership")) ||
	    (own && ((rc = api_check_known(own, p_own, own_known)) ||
		     (rc = api_field_enum(&s.ownership_mode, own, p_own, "mode", modes)) ||
		     (rc = api_field_string(&s.ownership_role, own, p_own, "role", 1, 63)))) ||
	    (rc = api_field_enum(&s.privileges, o, path, "privileges", privileges)) ||
	    (rc = api_field_object(&files, o, path, "files")) ||
	    (files && (rc = api_files_parse(&s.files, files, p_files))) ||
	    (rc = api_field_object(&jt, o, path, "jobTemplate")) ||
	    (rc = api_job_template_parse(&s.job_template, jt, p_jt)))
		goto done;
	if (s.ownership_role && !no_controls(s.ownership_role)) {
		rc = err_set(E_INVALID, "%s.role: has a control character", p_own);
		goto done;
	}
	if (!s.schema_policy)
		s.schema_policy = xstrdup("Warn");
	if (!s.ownership_mode)
		s.ownership_mode = xstrdup("Keep");
	if (!s.privileges)
		s.privileges = xstrdup("Keep");
	*out = s;
	memset(&s, 0, sizeof(s));
done:
	spec_dispose(&s);
	free(p_ref);
	free(p_src);
	free(p_tgt);
	free(p_safety);
	free(p_own);
	free(p_files);
	free(p_jt);
	return rc;
}

void api_restore_free(struct api_restore *r)
{
	if (!r)
		return;
	api_meta_dispose(&r->meta);
	spec_dispose(&r->spec);
	free(r);
}

int api_restore_parse(struct api_restore **out, struct json_object *obj)
{
	struct api_restore *r = xcalloc(1, sizeof(*r));
	struct json_object *spec = NULL;
	int rc;
	if ((rc = api_object_head(&r->meta, &spec, obj, API_RESTORE_KIND)) ||
	    (rc = spec_parse(&r->spec, spec, "spec")))
		goto done;
	*out = r;
	r = NULL;
done:
	api_restore_free(r);
	return rc;
}
