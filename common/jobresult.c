/* The job result's field table, and its writer and parser. */
#include "common/text.h"
#include "common/jobresult.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/xmalloc.h"

enum kind { K_STR, K_INT, K_BOOL, K_TIME, K_NUM, K_OBJECTS, K_FILES };

enum {
	F_OMIT = 1,    /* the writer leaves a NULL string out instead of writing null */
	F_SHA256 = 2,  /* 64 lowercase hex digits */
	F_NONNEG = 4,  /* a number that is never negative */
	F_REASON = 8,  /* a condition reason: CamelCase, as the CRD's pattern says */
	F_FORMAT = 16, /* custom | plain */
	F_TEXT = 32,   /* free text: control characters allowed (not NUL) */
};

struct field {
	const char *key;
	enum kind kind;
	size_t offset;
	unsigned flags;
	const char *const *one_of; /* K_STR: the values allowed (NULL-terminated), or NULL */
};

#define FIELD(type, key, kind, member, flags)                                                      \
	{                                                                                          \
		key, kind, offsetof(type, member), flags, NULL                                     \
	}
#define FIELD_ONE_OF(type, key, member, flags, values)                                             \
	{                                                                                          \
		key, K_STR, offsetof(type, member), flags, values                                  \
	}

/* The enumerations the CRD's status schema holds these fields to. */
static const char *const ownership_values[] = {"Keep", "NoOwner", NULL};
static const char *const privileges_values[] = {"Keep", "Skip", NULL};
static const char *const policy_values[] = {"Ignore", "Warn", "RequireMatch", NULL};
static const char *const schema_result_values[] = {"Match", "Mismatch", "Skipped", "TargetUnknown",
						   NULL};

static const struct field object_fields[] = {
    FIELD(struct jobresult_object, "key", K_STR, key, 0),
    FIELD(struct jobresult_object, "size", K_INT, size, F_NONNEG),
    FIELD(struct jobresult_object, "sha256", K_STR, sha256, F_SHA256),
};

static const struct field files_fields[] = {
    FIELD(struct jobresult_files, "object", K_STR, object, 0),
    FIELD(struct jobresult_files, "size", K_INT, size, F_NONNEG),
    FIELD(struct jobresult_files, "sha256", K_STR, sha256, F_SHA256),
    FIELD(struct jobresult_files, "count", K_INT, count, F_NONNEG),
};

/* In the order the job has always written them; files came later. */
static const struct field artifact_fields[] = {
    FIELD(struct jobresult_artifact, "location", K_STR, location, 0),
    FIELD(struct jobresult_artifact, "objects", K_OBJECTS, objects, 0),
    FIELD(struct jobresult_artifact, "size", K_INT, size, F_NONNEG),
    FIELD(struct jobresult_artifact, "sha256", K_STR, sha256, F_SHA256 | F_OMIT),
    FIELD(struct jobresult_artifact, "plaintextSize", K_INT, plaintext_size, F_NONNEG),
    FIELD(struct jobresult_artifact, "plaintextSha256", K_STR, plaintext_sha256, F_SHA256),
    FIELD(struct jobresult_artifact, "encrypted", K_BOOL, encrypted, 0),
    FIELD(struct jobresult_artifact, "format", K_STR, format, F_FORMAT),
    FIELD(struct jobresult_artifact, "compression", K_STR, compression, 0),
    FIELD(struct jobresult_artifact, "createdAt", K_TIME, created_at, 0),
    FIELD(struct jobresult_artifact, "files", K_FILES, files, 0),
};

static const struct field database_fields[] = {
    FIELD(struct jobresult_database, "name", K_STR, name, 0),
    FIELD(struct jobresult_database, "serverVersion", K_STR, server_version, 0),
    FIELD(struct jobresult_database, "dumpVersion", K_STR, dump_version, 0),
    FIELD(struct jobresult_database, "sizeBytes", K_INT, size_bytes, F_NONNEG),
    FIELD(struct jobresult_database, "tableCount", K_INT, table_count, F_NONNEG),
    FIELD(struct jobresult_database, "rowEstimate", K_INT, row_estimate, 0),
    FIELD(struct jobresult_database, "schemaVersion", K_STR, schema_version, F_OMIT | F_TEXT),
};

static const struct field verification_fields[] = {
    FIELD(struct jobresult_verification, "verified", K_BOOL, verified, 0),
    FIELD(struct jobresult_verification, "time", K_TIME, time, 0),
    FIELD(struct jobresult_verification, "method", K_STR, method, 0),
    FIELD(struct jobresult_verification, "message", K_STR, message, F_OMIT | F_TEXT),
};

static const struct field restore_fields[] = {
    FIELD(struct jobresult_restore, "target", K_STR, target, 0),
    FIELD(struct jobresult_restore, "targetServerVersion", K_STR, target_server_version, 0),
    FIELD(struct jobresult_restore, "clean", K_BOOL, clean, 0),
    FIELD(struct jobresult_restore, "startTime", K_TIME, start_time, 0),
    FIELD(struct jobresult_restore, "completionTime", K_TIME, completion_time, 0),
    FIELD_ONE_OF(struct jobresult_restore, "ownership", ownership, F_OMIT, ownership_values),
    FIELD(struct jobresult_restore, "role", K_STR, role, F_OMIT),
    FIELD_ONE_OF(struct jobresult_restore, "privileges", privileges, F_OMIT, privileges_values),
};

static const struct field restored_backup_fields[] = {
    FIELD(struct jobresult_restored_backup, "namespace", K_STR, namespace_, 0),
    FIELD(struct jobresult_restored_backup, "name", K_STR, name, 0),
    FIELD(struct jobresult_restored_backup, "location", K_STR, location, 0),
    FIELD(struct jobresult_restored_backup, "sha256", K_STR, sha256, F_SHA256 | F_OMIT),
    FIELD(struct jobresult_restored_backup, "createdAt", K_TIME, created_at, 0),
    FIELD(struct jobresult_restored_backup, "schemaVersion", K_STR, schema_version,
	  F_OMIT | F_TEXT),
};

static const struct field schema_check_fields[] = {
    FIELD_ONE_OF(struct jobresult_schema_check, "policy", policy, 0, policy_values),
    FIELD_ONE_OF(struct jobresult_schema_check, "result", result, 0, schema_result_values),
    FIELD(struct jobresult_schema_check, "backupVersion", K_STR, backup_version, F_TEXT),
    FIELD(struct jobresult_schema_check, "targetVersion", K_STR, target_version, F_TEXT),
    FIELD(struct jobresult_schema_check, "targetError", K_STR, target_error, F_OMIT | F_TEXT),
};

/* command and phase are structural: jobresult_parse checks them itself. */
static const struct field top_fields[] = {
    FIELD(struct jobresult, JOBRESULT_NAMESPACE, K_STR, namespace_, 0),
    FIELD(struct jobresult, JOBRESULT_NAME, K_STR, name, 0),
    FIELD(struct jobresult, JOBRESULT_REASON, K_STR, reason, F_REASON),
    FIELD(struct jobresult, JOBRESULT_MESSAGE, K_STR, message, F_TEXT),
    FIELD(struct jobresult, JOBRESULT_START_TIME, K_TIME, start_time, 0),
    FIELD(struct jobresult, JOBRESULT_COMPLETION_TIME, K_TIME, completion_time, 0),
    FIELD(struct jobresult, JOBRESULT_PEAK_RSS_KIB, K_INT, peak_rss_kib, F_NONNEG),
    FIELD(struct jobresult, JOBRESULT_DURATION_SECONDS, K_NUM, duration_seconds, F_NONNEG),
    FIELD(struct jobresult, JOBRESULT_CPU_SECONDS, K_NUM, cpu_seconds, F_NONNEG),
    FIELD(struct jobresult, JOBRESULT_CPU_SYSTEM_SECONDS, K_NUM, cpu_system_seconds, F_NONNEG),
    FIELD(struct jobresult, JOBRESULT_DELETED_OBJECTS, K_INT, deleted_objects, F_NONNEG),
    FIELD(struct jobresult, JOBRESULT_FREED_BYTES, K_INT, freed_bytes, F_NONNEG),
    FIELD(struct jobresult, JOBRESULT_TARGET_UNCHANGED, K_BOOL, target_unchanged, 0),
    FIELD(struct jobresult, JOBRESULT_AUDIT_RECORD, K_STR, audit_record, 0),
    FIELD(struct jobresult, JOBRESULT_AUDIT_ERROR, K_STR, audit_error, F_TEXT),
    FIELD(struct jobresult, JOBRESULT_COUNT, K_INT, count, F_NONNEG),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct section {
	const char *key;
	const struct field *fields;
	size_t nfields;
	size_t has_offset; /* int has_<section> in struct jobresult */
	size_t offset;	   /* the section struct in struct jobresult */
};

static const struct section sections[] = {
    {JOBRESULT_ARTIFACT, artifact_fields, COUNT(artifact_fields),
     offsetof(struct jobresult, has_artifact), offsetof(struct jobresult, artifact)},
    {JOBRESULT_DATABASE, database_fields, COUNT(database_fields),
     offsetof(struct jobresult, has_database), offsetof(struct jobresult, database)},
    {JOBRESULT_VERIFICATION, verification_fields, COUNT(verification_fields),
     offsetof(struct jobresult, has_verification), offsetof(struct jobresult, verification)},
    {JOBRESULT_RESTORE, restore_fields, COUNT(restore_fields),
     offsetof(struct jobresult, has_restore), offsetof(struct jobresult, restore)},
    {JOBRESULT_RESTORED_BACKUP, restored_backup_fields, COUNT(restored_backup_fields),
     offsetof(struct jobresult, has_restored_backup), offsetof(struct jobresult, restored_backup)},
    {JOBRESULT_SCHEMA_CHECK, schema_check_fields, COUNT(schema_check_fields),
     offsetof(struct jobresult, has_schema_check), offsetof(struct jobresult, schema_check)},
};

static const char *const commands[] = {"backup", "restore", "verify", "list", "delete", "audit"};

static void *at(const void *base, size_t offset)
{
	return (char *)(uintptr_t)base + offset;
}

/* --- times --- */

void jobresult_time_format(char out[32], time_t t)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

int jobresult_time_parse(time_t *out, const char *text)
{
	int y, mo, d, h, mi, s;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int ok = strlen(text) == 20 && text[4] == '-' && text[7] == '-' && text[10] == 'T' &&
		 text[13] == ':' && text[16] == ':' && text[19] == 'Z' && digits(text, 4, &y) &&
		 digits(text + 5, 2, &mo) && digits(text + 8, 2, &d) && digits(text + 11, 2, &h) &&
		 digits(text + 14, 2, &mi) && digits(text + 17, 2, &s) && mo >= 1 && mo <= 12 &&
		 d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 59;
	time_t t = 0;
	if (ok) {
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = s;
		t = timegm(&tm);
		/* timegm normalises Feb 31 to Mar 3: only a date that formats back
		 * to itself is real. */
		char canon[32];
		jobresult_time_format(canon, t);
		ok = strcmp(canon, text) == 0;
	}
	if (!ok)
		return err_set(E_INVALID,
			       "\"%.40s\" is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)",
			       text);
	*out = t;
	return 0;
}

/* --- writing --- */

static void write_fields(struct json_object *o, const struct field *fields, size_t n,
			 const void *base);

static void write_objects(struct json_object *o, const char *key, const void *base, size_t offset)
{
	const struct jobresult_artifact *a = base;
	(void)offset;
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < a->nobjects; i++) {
		struct json_object *item = json_object_new_object();
		write_fields(item, object_fields, COUNT(object_fields), &a->objects[i]);
		json_object_array_add(arr, item);
	}
	json_object_object_add(o, key, arr);
}

static void write_fields(struct json_object *o, const struct field *fields, size_t n,
			 const void *base)
{
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		void *p = at(base, f->offset);
		switch (f->kind) {
		case K_STR: {
			const char *s = *(char **)p;
			if (s)
				json_object_object_add(o, f->key, json_object_new_string(s));
			else if (!(f->flags & F_OMIT))
				json_object_object_add(o, f->key, NULL);
			break;
		}
		case K_INT: {
			const struct jobresult_int *v = p;
			if (v->set)
				json_object_object_add(o, f->key, json_object_new_int64(v->value));
			break;
		}
		case K_BOOL: {
			const struct jobresult_bool *v = p;
			if (v->set)
				json_object_object_add(o, f->key,
						       json_object_new_boolean(v->value));
			break;
		}
		case K_TIME: {
			const struct jobresult_time *v = p;
			if (v->set) {
				char s[32];
				jobresult_time_format(s, v->value);
				json_object_object_add(o, f->key, json_object_new_string(s));
			}
			break;
		}
		case K_NUM: {
			const struct jobresult_num *v = p;
			if (v->set)
				json_object_object_add(o, f->key, json_object_new_double(v->value));
			break;
		}
		case K_OBJECTS:
			write_objects(o, f->key, base, f->offset);
			break;
		case K_FILES: {
			const struct jobresult_files *v = p;
			if (v->object) {
				struct json_object *sub = json_object_new_object();
				write_fields(sub, files_fields, COUNT(files_fields), v);
				json_object_object_add(o, f->key, sub);
			}
			break;
		}
		}
	}
}

static void add_section(struct json_object *result, size_t which, const void *s)
{
	struct json_object *o = json_object_new_object();
	write_fields(o, sections[which].fields, sections[which].nfields, s);
	json_object_object_add(result, sections[which].key, o);
}

void jobresult_add_artifact(struct json_object *result, const struct jobresult_artifact *a)
{
	add_section(result, 0, a);
}

void jobresult_add_database(struct json_object *result, const struct jobresult_database *d)
{
	add_section(result, 1, d);
}

void jobresult_add_verification(struct json_object *result, const struct jobresult_verification *v)
{
	add_section(result, 2, v);
}

void jobresult_add_restore(struct json_object *result, const struct jobresult_restore *r)
{
	add_section(result, 3, r);
}

void jobresult_add_restored_backup(struct json_object *result,
				   const struct jobresult_restored_backup *b)
{
	add_section(result, 4, b);
}

void jobresult_add_schema_check(struct json_object *result, const struct jobresult_schema_check *c)
{
	add_section(result, 5, c);
}

/* --- rendering within JOBRESULT_MAX_BYTES --- */

#define RENDER_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
/* Appended to free text that was cut. */
#define CUT_MARK " [truncated]"
/* What the free-text fields are cut to first, marker included. */
#define MESSAGE_CUT 1000
#define TEXT_CUT 512
/* In the last resort, values other than the message longer than this (as
 * rendered) are dropped: with the 14 fields keep() names, the rest then
 * takes under 4 KiB whatever the job put in (and under 1 KiB with the
 * values the job writes), and the message gets the room left. */
#define CORE_VALUE_MAX 256

static size_t render_len(struct json_object *o)
{
	size_t n = 0;
	(void)json_object_to_json_string_length(o, RENDER_FLAGS, &n);
	return n;
}

/* The length of the well-formed UTF-8 character (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF) at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t k;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < k || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return k;
}

/* JSON text is UTF-8 and the operator's parser checks it: every byte that
 * is not part of a well-formed character becomes U+FFFD, in every string
 * of the tree (keys are the writers' own ASCII). */
static void repair_utf8(struct json_object *o)
{
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v)
		{
			(void)key;
			repair_utf8(v);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			repair_utf8(json_object_array_get_idx(o, i));
	} else if (json_object_is_type(o, json_type_string)) {
		const unsigned char *s = (const unsigned char *)json_object_get_string(o);
		size_t n = (size_t)json_object_get_string_len(o), i = 0, k;
		while (i < n && (k = utf8_len(s + i, n - i)) > 0)
			i += k;
		if (i == n)
			return;
		char *fixed = xmalloc(n * 3 + 1);
		size_t out = 0;
		for (i = 0; i < n;) {
			if ((k = utf8_len(s + i, n - i)) > 0) {
				memcpy(fixed + out, s + i, k);
				out += k;
				i += k;
			} else {
				memcpy(fixed + out, "\xef\xbf\xbd", 3);
				out += 3;
				i++;
			}
		}
		(void)json_object_set_string_len(o, fixed, (int)out);
		free(fixed);
	}
}

/* The first n bytes of s (well-formed UTF-8), less a partial character,
 * then CUT_MARK. */
static char *cut_to(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return xasprintf("%.*s%s", (int)n, s, CUT_MARK);
}

/* s cut to at most max bytes, CUT_MARK included; NULL when it is no longer
 * than max already. */
static char *cut_text(const char *s, size_t max)
{
	size_t n = strlen(s), mark = strlen(CUT_MARK);
	if (n <= max)
		return NULL;
	return cut_to(s, max > mark ? max - mark : 0);
}

/* The section's (NULL: the top level's) object holding key, or NULL. */
static struct json_object *holder(struct json_object *result, const char *section)
{
	struct json_object *o = result;
	if (section && !json_object_object_get_ex(result, section, &o))
		return NULL;
	return json_object_is_type(o, json_type_object) ? o : NULL;
}

static void cut_field(struct json_object *result, const char *section, const char *key, size_t max)
{
	struct json_object *o = holder(result, section), *v;
	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	char *cut = cut_text(json_object_get_string(v), max);
	if (cut)
		json_object_object_add(o, key, json_object_new_string(cut));
	free(cut);
}

/* What goes when the result is too long, in this order, until it fits:
 * the object list (the dump's own size and sha256 stay in the artifact),
 * the details the operator only copies into a status, then what feeds a
 * status message or condition. What the operator decides with is never in
 * it (see keep() below). */
static const struct {
	const char *section; /* NULL: a top-level key */
	const char *key;
} drop_order[] = {
    {NULL, JOBRESULT_CPU_SYSTEM_SECONDS},
    {NULL, JOBRESULT_CPU_SECONDS},
    {JOBRESULT_ARTIFACT, "objects"},
    {NULL, JOBRESULT_DATABASE},
    {NULL, JOBRESULT_RESTORE},
    {JOBRESULT_ARTIFACT, "files"},
    {JOBRESULT_ARTIFACT, "plaintextSha256"},
    {JOBRESULT_ARTIFACT, "plaintextSize"},
    {JOBRESULT_ARTIFACT, "compression"},
    {JOBRESULT_ARTIFACT, "format"},
    {JOBRESULT_ARTIFACT, "encrypted"},
    {JOBRESULT_ARTIFACT, "createdAt"},
    {JOBRESULT_VERIFICATION, "message"},
    {JOBRESULT_VERIFICATION, "method"},
    {JOBRESULT_VERIFICATION, "time"},
    {JOBRESULT_RESTORED_BACKUP, "schemaVersion"},
    {JOBRESULT_SCHEMA_CHECK, "targetError"},
    {NULL, JOBRESULT_AUDIT_ERROR},
    {JOBRESULT_RESTORED_BACKUP, "location"},
    {JOBRESULT_ARTIFACT, "location"},
    {NULL, JOBRESULT_SCHEMA_CHECK},
    {NULL, JOBRESULT_RESTORED_BACKUP},
    {NULL, JOBRESULT_AUDIT_RECORD},
    {NULL, JOBRESULT_DURATION_SECONDS},
    {NULL, JOBRESULT_PEAK_RSS_KIB},
};

/* What the last resort keeps: the structure, what ran, the outcome and the
 * fields the operator decides with (jobresult_ok, jobresult_has_artifact,
 * verification.verified, targetUnchanged), and small counts. */
static int keep(const char *section, const char *key)
{
	static const char *const top[] = {
	    JOBRESULT_COMMAND,	  JOBRESULT_PHASE,	     JOBRESULT_REASON,
	    JOBRESULT_MESSAGE,	  JOBRESULT_NAMESPACE,	     JOBRESULT_NAME,
	    JOBRESULT_START_TIME, JOBRESULT_COMPLETION_TIME, JOBRESULT_TARGET_UNCHANGED,
	    JOBRESULT_COUNT,	  JOBRESULT_DELETED_OBJECTS, JOBRESULT_FREED_BYTES,
	    JOBRESULT_ARTIFACT,	  JOBRESULT_VERIFICATION,
	};
	static const char *const artifact[] = {"size", "sha256"};
	static const char *const verification[] = {"verified"};
	const char *const *names = top;
	size_t n = COUNT(top);
	if (section && strcmp(section, JOBRESULT_ARTIFACT) == 0) {
		names = artifact;
		n = COUNT(artifact);
	} else if (section) {
		names = verification;
		n = COUNT(verification);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, names[i]) == 0)
			return 1;
	return 0;
}

/* Deletes from o (the section's object, or the top level) what keep()
 * does not name, and values longer than CORE_VALUE_MAX but the message. */
static void keep_core(struct json_object *o, const char *section)
{
	size_t n = (size_t)json_object_object_length(o), ngone = 0;
	char **gone = xcalloc(n + 1, sizeof(*gone));
	json_object_object_foreach(o, key, v)
	{
		int sub = !section && (strcmp(key, JOBRESULT_ARTIFACT) == 0 ||
				       strcmp(key, JOBRESULT_VERIFICATION) == 0);
		int too_long = !sub && (section || strcmp(key, JOBRESULT_MESSAGE) != 0) &&
			       render_len(v) > CORE_VALUE_MAX;
		if (!keep(section, key) || too_long ||
		    (sub && !json_object_is_type(v, json_type_object)))
			gone[ngone++] = xstrdup(key);
		else if (sub)
			keep_core(v, key);
	}
	for (size_t i = 0; i < ngone; i++) {
		json_object_object_del(o, gone[i]);
		free(gone[i]);
	}
	free(gone);
}

static int fits_with_message(struct json_object *result, char *text)
{
	json_object_object_add(result, JOBRESULT_MESSAGE, json_object_new_string(text));
	free(text);
	return render_len(result) <= JOBRESULT_MAX_BYTES;
}

/* Leaves the message whole if the result fits with it, else its longest cut
 * that does (a cut made before is cut again, not marked twice); without one
 * when not even the marker fits. */
static void fit_message(struct json_object *result)
{
	struct json_object *v;
	if (!json_object_object_get_ex(result, JOBRESULT_MESSAGE, &v) ||
	    !json_object_is_type(v, json_type_string)) {
		json_object_object_del(result, JOBRESULT_MESSAGE);
		return;
	}
	char *msg = xstrdup(json_object_get_string(v));
	size_t len = strlen(msg), mark = strlen(CUT_MARK);
	int was_cut = len >= mark && strcmp(msg + len - mark, CUT_MARK) == 0;
	if (was_cut)
		msg[len -= mark] = '\0';
	if (!was_cut && fits_with_message(result, xstrdup(msg)))
		goto done;
	if (!was_cut && len == 0) {
		json_object_object_del(result, JOBRESULT_MESSAGE);
		goto done;
	}
	/* A longer cut never renders shorter: bisect for the longest that
	 * fits, over prefixes of 0 .. len bytes (len - 1 when whole did not). */
	size_t lo = 0, hi = was_cut ? len : len - 1, best = 0;
	int found = 0;
	while (lo <= hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fits_with_message(result, cut_to(msg, mid))) {
			best = mid;
			found = 1;
			lo = mid + 1;
		} else if (mid == 0) {
			break;
		} else {
			hi = mid - 1;
		}
	}
	if (!found || !fits_with_message(result, cut_to(msg, best)))
		json_object_object_del(result, JOBRESULT_MESSAGE);
done:
	free(msg);
}

const char *jobresult_render(struct json_object *result)
{
	repair_utf8(result);
	if (render_len(result) <= JOBRESULT_MAX_BYTES)
		goto done;
	/* First the free text, each cut with a marker. */
	cut_field(result, NULL, JOBRESULT_MESSAGE, MESSAGE_CUT);
	cut_field(result, NULL, JOBRESULT_AUDIT_ERROR, TEXT_CUT);
	cut_field(result, JOBRESULT_SCHEMA_CHECK, "targetError", TEXT_CUT);
	cut_field(result, JOBRESULT_VERIFICATION, "message", TEXT_CUT);
	for (size_t i = 0; i < COUNT(drop_order) && render_len(result) > JOBRESULT_MAX_BYTES; i++) {
		struct json_object *o = holder(result, drop_order[i].section);
		if (o)
			json_object_object_del(o, drop_order[i].key);
	}
	if (render_len(result) <= JOBRESULT_MAX_BYTES)
		goto done;
	/* The last resort: only what keep() names, and as much of the
	 * message as the room left takes. */
	keep_core(result, NULL);
	fit_message(result);
done:
	return json_object_to_json_string_ext(result, RENDER_FLAGS);
}

/* --- parsing --- */

/* ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$, at most 1024: what a condition's
 * reason may be, so a reason from the result can go into one as it is. */
static int is_reason(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 1024)
		return 0;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		int word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '_';
		if (!word && !(i < n - 1 && (c == ',' || c == ':')))
			return 0;
	}
	return 1;
}

static int one_of(const char *s, const char *const *values)
{
	for (; values && *values; values++)
		if (strcmp(s, *values) == 0)
			return 1;
	return values == NULL;
}

/* A string value as text without NUL (and, unless F_TEXT, without control
 * characters) that passes the field's rule; NULL otherwise. */
static const char *string_value(struct json_object *v, unsigned flags)
{
	if (!json_object_is_type(v, json_type_string))
		return NULL;
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (strlen(s) != n)
		return NULL;
	if (!(flags & F_TEXT))
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return NULL;
	if ((flags & F_SHA256) && !text_is_sha256_hex(s))
		return NULL;
	if ((flags & F_REASON) && !is_reason(s))
		return NULL;
	if ((flags & F_FORMAT) && strcmp(s, "custom") != 0 && strcmp(s, "plain") != 0)
		return NULL;
	return s;
}

static int int_value(int64_t *out, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_int))
		return 0;
	int64_t i = json_object_get_int64(v);
	/* json-c keeps a number past INT64_MAX as unsigned and saturates it here. */
	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return 0;
	*out = i;
	return 1;
}

static void parse_fields(void *base, const struct field *fields, size_t n, struct json_object *o,
			 size_t *ignored);

static int parse_objects(struct jobresult_artifact *a, struct json_object *v, size_t *ignored)
{
	if (!json_object_is_type(v, json_type_array))
		return 0;
	size_t n = json_object_array_length(v);
	a->objects =
	    xcalloc(n < JOBRESULT_MAX_OBJECTS ? n + 1 : JOBRESULT_MAX_OBJECTS, sizeof(*a->objects));
	for (size_t i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(v, i);
		if (a->nobjects == JOBRESULT_MAX_OBJECTS ||
		    !json_object_is_type(item, json_type_object)) {
			(*ignored)++;
			continue;
		}
		struct jobresult_object *o = &a->objects[a->nobjects];
		parse_fields(o, object_fields, COUNT(object_fields), item, ignored);
		if (!o->key || !*o->key) {
			/* An object without a key names nothing. */
			free(o->key);
			free(o->sha256);
			memset(o, 0, sizeof(*o));
			(*ignored)++;
			continue;
		}
		a->nobjects++;
	}
	return 1;
}

static void dispose_fields(void *base, const struct field *fields, size_t n);

/* artifact.files: taken only with its object name. */
static int parse_files(struct jobresult_files *f, struct json_object *v, size_t *ignored)
{
	if (!json_object_is_type(v, json_type_object))
		return 0;
	parse_fields(f, files_fields, COUNT(files_fields), v, ignored);
	if (!f->object || !*f->object) {
		dispose_fields(f, files_fields, COUNT(files_fields));
		memset(f, 0, sizeof(*f));
		return 0;
	}
	return 1;
}

/* One field: 1 when it was taken, 0 when malformed. */
static int parse_field(void *base, const struct field *f, struct json_object *v, size_t *ignored)
{
	void *p = at(base, f->offset);
	int ok = 0;
	switch (f->kind) {
	case K_STR: {
		const char *s = string_value(v, f->flags);
		if (s && !one_of(s, f->one_of))
			s = NULL;
		if (s) {
			*(char **)p = xstrdup(s);
			ok = 1;
		}
		break;
	}
	case K_INT: {
		int64_t i;
		if (int_value(&i, v) && !((f->flags & F_NONNEG) && i < 0)) {
			*(struct jobresult_int *)p = (struct jobresult_int){i, 1};
			ok = 1;
		}
		break;
	}
	case K_BOOL:
		if (json_object_is_type(v, json_type_boolean)) {
			*(struct jobresult_bool *)p =
			    (struct jobresult_bool){json_object_get_boolean(v) ? 1 : 0, 1};
			ok = 1;
		}
		break;
	case K_TIME: {
		const char *s = string_value(v, 0);
		time_t t;
		if (s && jobresult_time_parse(&t, s) == 0) {
			*(struct jobresult_time *)p = (struct jobresult_time){t, 1};
			ok = 1;
		}
		break;
	}
	case K_NUM: {
		int64_t i;
		double d = 0;
		if (int_value(&i, v)) {
			d = (double)i;
			ok = 1;
		} else if (json_object_is_type(v, json_type_double)) {
			d = json_object_get_double(v);
			ok = isfinite(d);
		}
		if (ok && (f->flags & F_NONNEG) && d < 0)
			ok = 0;
		if (ok)
			*(struct jobresult_num *)p = (struct jobresult_num){d, 1};
		break;
	}
	case K_OBJECTS:
		ok = parse_objects(base, v, ignored);
		break;
	case K_FILES:
		ok = parse_files(p, v, ignored);
		break;
	}
	return ok;
}

static void parse_fields(void *base, const struct field *fields, size_t n, struct json_object *o,
			 size_t *ignored)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = NULL;
		/* An absent field and an explicit null are both "not set". */
		if (!json_object_object_get_ex(o, fields[i].key, &v) || !v)
			continue;
		if (!parse_field(base, &fields[i], v, ignored))
			(*ignored)++;
	}
}

static void dispose_fields(void *base, const struct field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *p = at(base, fields[i].offset);
		if (fields[i].kind == K_STR) {
			free(*(char **)p);
		} else if (fields[i].kind == K_OBJECTS) {
			struct jobresult_artifact *a = base;
			for (size_t k = 0; k < a->nobjects; k++)
				dispose_fields(&a->objects[k], object_fields, COUNT(object_fields));
			free(a->objects);
			a->objects = NULL;
			a->nobjects = 0;
		} else if (fields[i].kind == K_FILES) {
			dispose_fields(p, files_fields, COUNT(files_fields));
		}
	}
}

void jobresult_dispose(struct jobresult *r)
{
	if (!r)
		return;
	free(r->command);
	free(r->phase);
	dispose_fields(r, top_fields, COUNT(top_fields));
	for (size_t i = 0; i < COUNT(sections); i++)
		dispose_fields(at(r, sections[i].offset), sections[i].fields, sections[i].nfields);
	memset(r, 0, sizeof(*r));
}

static struct json_object *tokenize(const char *json, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(16);
	struct json_object *o = NULL;
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		/* Only white space may follow the object (the job ends stdout's
		 * copy with a newline). */
		for (size_t i = json_tokener_get_parse_end(tok); i < len && o; i++)
			if (!strchr(" \t\r\n", json[i])) {
				json_object_put(o);
				o = NULL;
			}
	} else {
		/* Truncated input leaves the tokener waiting for more. */
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int jobresult_parse(struct jobresult *out, const char *json, size_t len)
{
	struct jobresult r;
	struct json_object *root = NULL, *v = NULL;
	int rc = 0;
	memset(&r, 0, sizeof(r));
	if (len > JOBRESULT_MAX_BYTES) {
		rc = err_set(E_TOOBIG,
			     "job result: %zu bytes, more than a termination message "
			     "holds (%d)",
			     len, JOBRESULT_MAX_BYTES);
		goto done;
	}
	if (len == 0 || memchr(json, '\0', len) || !(root = tokenize(json, len)) ||
	    !json_object_is_type(root, json_type_object)) {
		rc = err_set(E_INVALID,
			     "job result: not a JSON object (the job may have died before "
			     "writing its result; see the pod's log)");
		goto done;
	}
	const char *command = NULL;
	if (json_object_object_get_ex(root, JOBRESULT_COMMAND, &v))
		command = string_value(v, 0);
	for (size_t i = 0; command && i < COUNT(commands); i++)
		if (strcmp(command, commands[i]) == 0)
			r.command = xstrdup(command);
	if (!r.command) {
		rc = err_set(E_INVALID,
			     "job result: \"command\" is missing or not a lifeboat command");
		goto done;
	}
	const char *phase = NULL;
	if (json_object_object_get_ex(root, JOBRESULT_PHASE, &v))
		phase = string_value(v, 0);
	if (!phase || (strcmp(phase, JOBRESULT_PHASE_COMPLETED) != 0 &&
		       strcmp(phase, JOBRESULT_PHASE_FAILED) != 0)) {
		rc = err_set(E_INVALID, "job result: \"phase\" is missing or neither Completed "
					"nor Failed");
		goto done;
	}
	r.phase = xstrdup(phase);
	parse_fields(&r, top_fields, COUNT(top_fields), root, &r.ignored);
	for (size_t i = 0; i < COUNT(sections); i++) {
		const struct section *s = &sections[i];
		if (!json_object_object_get_ex(root, s->key, &v) || !v)
			continue;
		if (!json_object_is_type(v, json_type_object)) {
			r.ignored++;
			continue;
		}
		*(int *)at(&r, s->has_offset) = 1;
		parse_fields(at(&r, s->offset), s->fields, s->nfields, v, &r.ignored);
	}
done:
	json_object_put(root);
	if (rc)
		jobresult_dispose(&r);
	else
		*out = r;
	return rc;
}

int jobresult_ok(const struct jobresult *r)
{
	return r->phase && strcmp(r->phase, JOBRESULT_PHASE_COMPLETED) == 0 && r->reason &&
	       strcmp(r->reason, JOBRESULT_REASON_SUCCEEDED) == 0;
}

int jobresult_has_artifact(const struct jobresult *r)
{
	return jobresult_ok(r) && r->has_artifact && r->artifact.sha256 && r->artifact.size.set;
}
