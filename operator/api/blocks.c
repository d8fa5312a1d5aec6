/* The shared blocks of the lifeboat.dev kinds: field readers, validators,
 * the database, storage, encryption, files and jobTemplate blocks, metadata
 * and conditions. */
#include "operator/api/blocks.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/jobresult.h"
#include "common/xmalloc.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- text helpers --- */

/* A value for a message: quoted, escaped, at most 64 characters shown. */
static void show(char out[128], const char *s)
{
	size_t k = 0, n = strlen(s);
	out[k++] = '"';
	for (size_t i = 0; i < n && k < 110; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 64) {
			memcpy(out + k, "...", 3);
			k += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			k += (size_t)snprintf(out + k, 128 - k,
					      c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
		else
			out[k++] = (char)c;
	}
	out[k++] = '"';
	out[k] = '\0';
}

static char *join(const char *path, const char *key)
{
	return *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

/* Characters, as the CRD's minLength and maxLength count them. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_alnum_lower(c) || (c >= 'A' && c <= 'Z');
}

static int no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int no_space_or_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* --- validators --- */

int api_valid_dns_subdomain(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!is_alnum_lower(c) && c != '-' && c != '.')
			return 0;
		if ((i == 0 || i == n - 1) && !is_alnum_lower(c))
			return 0;
		/* Each dot-separated label starts and ends with a letter or digit. */
		if (c == '.' && (!is_alnum_lower(s[i - 1]) || !is_alnum_lower(s[i + 1])))
			return 0;
	}
	return 1;
}

int api_valid_dns_label(const char *s)
{
	return api_valid_dns_subdomain(s, 63) && !strchr(s, '.');
}

int api_valid_secret_key(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return 0;
	/* Kubernetes' IsConfigMapKey: the key is a file name in a volume. */
	return strcmp(s, ".") != 0 && strncmp(s, "..", 2) != 0;
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]{0,max-2}[A-Za-z0-9])? over s[0..n) */
static int valid_name_part(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

int api_valid_label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return valid_name_part(s, strlen(s), 63);
	size_t plen = (size_t)(slash - s);
	char prefix[254];
	if (plen == 0 || plen > 253)
		return 0;
	memcpy(prefix, s, plen);
	prefix[plen] = '\0';
	return api_valid_dns_subdomain(prefix, 253) &&
	       valid_name_part(slash + 1, strlen(slash + 1), 63);
}

int api_valid_label_value(const char *s)
{
	return *s == '\0' || valid_name_part(s, strlen(s), 63);
}

int api_valid_rel_path(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || s[0] == '/')
		return 0;
	if (s[n - 1] == '/')
		n--;
	const char *p = s, *end = s + n;
	while (p <= end) {
		const char *e = memchr(p, '/', (size_t)(end - p));
		if (!e)
			e = end;
		size_t len = (size_t)(e - p);
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c < 0x20 || c == 0x7f || c == '?' || c == '#' || c == '\\')
				return 0;
		}
		p = e + 1;
	}
	return 1;
}

static int valid_bucket(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n < 3 || n > max || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum_lower(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

static int valid_s3_bucket(const char *s)
{
	return valid_bucket(s, 255);
}

static int valid_gcs_bucket(const char *s)
{
	return valid_bucket(s, 222);
}

/* http(s):// then the rest; n: length of the scheme part, 0 if neither. */
static size_t http_scheme(const char *s)
{
	if (strncmp(s, "https://", 8) == 0)
		return 8;
	if (strncmp(s, "http://", 7) == 0)
		return 7;
	return 0;
}

static int valid_host(const char *s);

/* host[:port] over s[0..n): a DNS name, IPv4 or [IPv6] address and a port
 * of 1-65535. The job takes any text here and fails only when it connects. */
static int valid_authority(const char *s, size_t n)
{
	char host[256];
	size_t hlen = n;
	const char *colon = NULL;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return 0;
		hlen = (size_t)(close - s) + 1;
		if (hlen < n && s[hlen] != ':')
			return 0;
		colon = hlen < n ? s + hlen : NULL;
	} else {
		colon = memchr(s, ':', n);
		if (colon)
			hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return 0;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (!valid_host(host) || (host[0] != '[' && strchr(host, ':')))
		return 0;
	if (colon) {
		size_t plen = n - (size_t)(colon - s) - 1;
		long port = 0;
		if (plen == 0 || plen > 5)
			return 0;
		for (size_t i = 1; i <= plen; i++) {
			if (!isdigit((unsigned char)colon[i]))
				return 0;
			port = port * 10 + (colon[i] - '0');
		}
		if (port < 1 || port > 65535)
			return 0;
	}
	return 1;
}

/* ^https?://[-A-Za-z0-9.:\[\]_]+/?$, and the authority a real one. */
static int valid_s3_endpoint(const char *s)
{
	size_t k = http_scheme(s), n = strlen(s);
	if (k == 0)
		return 0;
	if (n > k && s[n - 1] == '/')
		n--;
	if (n == k)
		return 0;
	for (size_t i = k; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("-.:[]_", s[i]))
			return 0;
	return valid_authority(s + k, n - k);
}

/* ^https?://[^\s?#]+$: an authority and an optional path (Azurite's has the
 * account in it). */
static int valid_azure_endpoint(const char *s)
{
	size_t k = http_scheme(s);
	if (k == 0 || s[k] == '\0')
		return 0;
	for (const char *p = s + k; *p; p++)
		if (isspace((unsigned char)*p) || *p == '?' || *p == '#' ||
		    (unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return valid_authority(s + k, strcspn(s + k, "/"));
}

static int valid_region(const char *s)
{
	for (; *s; s++)
		if (!is_alnum(*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static int valid_storage_class(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* ^[a-z0-9](-?[a-z0-9])+$ */
static int valid_container(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 63 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum_lower(s[i]) && !(s[i] == '-' && s[i + 1] != '-'))
			return 0;
	return 1;
}

static int valid_account(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!is_alnum_lower(s[i]))
			return 0;
	return n >= 3 && n <= 24;
}

/* A DNS name (labels of at most 63, an optional final dot) or an IP address,
 * IPv6 optionally in brackets. The CRD's pattern lets "[::1", "a..b" and
 * "1.2.3.4.5" through; libpq would not connect to them. */
static int valid_host(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	size_t open = s[0] == '[', close = s[n - 1] == ']';
	if (open || close || strchr(s, ':')) {
		char addr[64];
		unsigned char bin[16];
		if (open != close || n - open - close >= sizeof(addr))
			return 0;
		memcpy(addr, s + open, n - open - close);
		addr[n - open - close] = '\0';
		return inet_pton(AF_INET6, addr, bin) == 1;
	}
	if (s[n - 1] == '.')
		n--;
	size_t label = 0;
	int all_digits = 1;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || label > 63 || !is_alnum(s[i - 1]))
				return 0;
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && !(s[i] == '-' && label > 0))
			return 0;
		all_digits &= isdigit((unsigned char)s[i]) != 0;
		label++;
	}
	/* Digits and dots only: an IPv4 address, or nothing libpq can use. */
	if (all_digits) {
		unsigned char bin[4];
		char addr[64];
		if (n >= sizeof(addr))
			return 0;
		memcpy(addr, s, n);
		addr[n] = '\0';
		return inet_pton(AF_INET, addr, bin) == 1;
	}
	return 1;
}

/* [0-9]+(\.[0-9]*)?|\.[0-9]+ at *p; advances. */
static int quantity_number(const char **p)
{
	const char *s = *p;
	size_t digits = 0;
	while (isdigit((unsigned char)*s)) {
		s++;
		digits++;
	}
	if (*s == '.') {
		s++;
		size_t frac = 0;
		while (isdigit((unsigned char)*s)) {
			s++;
			frac++;
		}
		if (digits == 0 && frac == 0)
			return 0;
	} else if (digits == 0) {
		return 0;
	}
	*p = s;
	return 1;
}

/* The CRD's quantity pattern, without a sign: a resource is never negative. */
static int valid_quantity(const char *s)
{
	if (*s == '+')
		s++;
	if (!quantity_number(&s))
		return 0;
	if (*s == '\0')
		return 1;
	if (s[1] == 'i' && s[2] == '\0')
		return strchr("KMGTPE", s[0]) != NULL;
	if (s[1] == '\0' && strchr("numkMGTPE", s[0]))
		return 1;
	if (*s != 'e' && *s != 'E')
		return 0;
	s++;
	if (*s == '+' || *s == '-')
		s++;
	return quantity_number(&s) && *s == '\0';
}

static int valid_image(const char *s)
{
	return no_space_or_controls(s);
}

/* --- field readers --- */

/* A JSON type as the API's documentation names it. */
static const char *type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		return "an object";
	case json_type_array:
		return "a list";
	case json_type_string:
		return "a string";
	case json_type_int:
		return "an integer";
	case json_type_double:
		return "a decimal number";
	case json_type_boolean:
		return "a boolean";
	default:
		return "null";
	}
}

static int type_error(const char *path, const char *key, const char *want, struct json_object *v)
{
	return err_set(E_INVALID, "%s%s%s: must be %s, not %s", path, *path ? "." : "", key, want,
		       type_name(v));
}

/* o[key], NULL when absent or null. */
static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

int api_field_string(char **out, struct json_object *o, const char *path, const char *key,
		     size_t min, size_t max)
{
	struct json_object *v = get(o, key);
	const char *dot = *path ? "." : "";
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return type_error(path, key, "a string", v);
	const char *s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return err_set(E_INVALID, "%s%s%s: contains a NUL character", path, dot, key);
	size_t n = utf8_len(s);
	if (n < min || n > max) {
		if (min == max)
			return err_set(E_INVALID, "%s%s%s: must be %zu characters, not %zu", path,
				       dot, key, min, n);
		if (n < min && min == 1)
			return err_set(E_INVALID, "%s%s%s: must not be empty", path, dot, key);
		return err_set(E_INVALID, "%s%s%s: must be %zu to %zu characters, not %zu", path,
			       dot, key, min, max, n);
	}
	*out = xstrdup(s);
	return 0;
}

int api_field_enum(char **out, struct json_object *o, const char *path, const char *key,
		   const char *const values[])
{
	char *s = NULL;
	int rc = api_field_string(&s, o, path, key, 0, 4096);
	if (rc || !s)
		return rc;
	for (size_t i = 0; values[i]; i++)
		if (strcmp(values[i], s) == 0) {
			*out = s;
			return 0;
		}
	char q[128], list[512] = "";
	show(q, s);
	size_t k = 0;
	for (size_t i = 0; values[i] && k < sizeof(list); i++)
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", i ? ", " : "", values[i]);
	free(s);
	return err_set(E_INVALID, "%s%s%s: %s is not one of %s", path, *path ? "." : "", key, q,
		       list);
}

int api_field_int(int64_t *out, struct json_object *o, const char *path, const char *key,
		  int64_t min, int64_t max)
{
	struct json_object *v = get(o, key);
	const char *dot = *path ? "." : "";
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return type_error(path, key, "an integer", v);
	int64_t i = json_object_get_int64(v);
	/* json-c saturates numbers past int64: none of them is in range. */
	if ((i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX) || i < min ||
	    i > max)
		return err_set(E_INVALID, "%s%s%s: %s is out of range %lld to %lld", path, dot, key,
			       json_object_get_string(v), (long long)min, (long long)max);
	*out = i;
	return 0;
}

int api_field_bool(int *out, struct json_object *o, const char *path, const char *key)
{
	struct json_object *v = get(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return type_error(path, key, "a boolean (true or false)", v);
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

int api_field_object(struct json_object **out, struct json_object *o, const char *path,
		     const char *key)
{
	struct json_object *v = get(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return type_error(path, key, "an object", v);
	*out = v;
	return 0;
}

static int field_array(struct json_object **out, struct json_object *o, const char *path,
		       const char *key, size_t max)
{
	struct json_object *v = get(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return type_error(path, key, "a list", v);
	if (json_object_array_length(v) > max)
		return err_set(E_INVALID, "%s.%s: %zu items, at most %zu are allowed", path, key,
			       json_object_array_length(v), max);
	*out = v;
	return 0;
}

int api_check_known(struct json_object *o, const char *path, const char *const known[])
{
	json_object_object_foreach(o, k, v)
	{
		(void)v;
		int found = 0;
		for (size_t i = 0; known[i] && !found; i++)
			found = strcmp(known[i], k) == 0;
		if (!found) {
			char q[128];
			show(q, k);
			return err_set(E_INVALID,
				       "%s: unknown field %s (this operator does not know "
				       "it: check the spelling, or upgrade the operator)",
				       *path ? path : "(top level)", q);
		}
	}
	return 0;
}

/* A string with a rule: "is not WHAT" when rule(s) fails. */
static int field_checked(char **out, struct json_object *o, const char *path, const char *key,
			 size_t min, size_t max, int (*rule)(const char *), const char *what)
{
	char *s = NULL;
	int rc = api_field_string(&s, o, path, key, min, max);
	if (!rc && s && rule && !rule(s)) {
		char q[128];
		show(q, s);
		rc = err_set(E_INVALID, "%s.%s: %s is not %s", path, key, q, what);
	}
	if (rc)
		free(s);
	else if (s)
		*out = s;
	return rc;
}

static int valid_secret_name(const char *s)
{
	return api_valid_dns_subdomain(s, 253);
}

#define WHAT_NAME                                                                                  \
	"a valid name (at most 253 lowercase letters, digits, '-' and '.', starting and ending "   \
	"with a letter or digit)"
#define WHAT_SECRET_KEY                                                                            \
	"a valid Secret key (at most 253 letters, digits, '-', '_' and '.'; not \".\" and not "    \
	"starting with \"..\")"
#define WHAT_REL_PATH                                                                              \
	"a valid folder path (folders separated by single slashes; no '.' or '..' folder, no "     \
	"'?', '#', backslash or control characters)"

static int secret_name_field(char **out, struct json_object *o, const char *path, const char *key)
{
	return field_checked(out, o, path, key, 1, 253, valid_secret_name, WHAT_NAME);
}

static int secret_key_field(char **out, struct json_object *o, const char *path, const char *key)
{
	return field_checked(out, o, path, key, 1, 253, api_valid_secret_key, WHAT_SECRET_KEY);
}

static int required(const void *field, const char *path, const char *key, const char *why)
{
	if (field)
		return 0;
	return err_set(E_INVALID, "%s.%s: required%s%s", path, key, why ? ": " : "",
		       why ? why : "");
}

static void secret_ref_dispose(struct api_secret_ref *r)
{
	free(r->name);
	free(r->key);
	memset(r, 0, sizeof(*r));
}

/* o[key] as {name, key}; absent leaves *out unset. */
static int secret_ref_field(struct api_secret_ref *out, struct json_object *o, const char *path,
			    const char *key)
{
	static const char *const known[] = {"name", "key", NULL};
	struct json_object *v = NULL;
	struct api_secret_ref r = {0};
	char *p = join(path, key);
	int rc = api_field_object(&v, o, path, key);
	if (rc || !v)
		goto done;
	if ((rc = api_check_known(v, p, known)) ||
	    (rc = secret_name_field(&r.name, v, p, "name")) ||
	    (rc = required(r.name, p, "name", NULL)) ||
	    (rc = secret_key_field(&r.key, v, p, "key")) || (rc = required(r.key, p, "key", NULL)))
		goto done;
	*out = r;
	memset(&r, 0, sizeof(r));
done:
	secret_ref_dispose(&r);
	free(p);
	return rc;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct api_kv *)a)->key, ((const struct api_kv *)b)->key);
}

void api_kv_free(struct api_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int api_field_labels(struct api_kv **out, size_t *n, struct json_object *o, const char *path,
		     const char *key, size_t max_entries, int label_values, int no_lifeboat)
{
	struct json_object *m = NULL;
	struct api_kv *kv = NULL;
	size_t count = 0;
	char *p = join(path, key);
	int rc = api_field_object(&m, o, path, key);
	if (rc || !m)
		goto done;
	size_t total = (size_t)json_object_object_length(m);
	if (total > max_entries) {
		rc = err_set(E_INVALID, "%s: %zu entries, at most %zu are allowed", p, total,
			     max_entries);
		goto done;
	}
	kv = xcalloc(total + 1, sizeof(*kv));
	json_object_object_foreach(m, k, v)
	{
		char q[128];
		show(q, k);
		if (!api_valid_label_key(k)) {
			rc = err_set(E_INVALID,
				     "%s: key %s is not a %s key ([prefix/]name, name at most 63 "
				     "characters of letters, digits, '-', '_', '.')",
				     p, q, label_values ? "label" : "annotation");
			goto done;
		}
		if (no_lifeboat && strncmp(k, "lifeboat.dev/", 13) == 0) {
			rc = err_set(E_INVALID,
				     "%s: key %s: keys under lifeboat.dev/ are set by the "
				     "operator",
				     p, q);
			goto done;
		}
		char *value = NULL;
		char *vp = xasprintf("%s[%s]", p, k);
		if (!v) {
			rc = err_set(E_INVALID, "%s: must be a string, not null", vp);
		} else if (!json_object_is_type(v, json_type_string)) {
			rc = err_set(E_INVALID, "%s: must be a string, not %s", vp, type_name(v));
		} else {
			const char *s = json_object_get_string(v);
			char sq[128];
			show(sq, s);
			if (strlen(s) != (size_t)json_object_get_string_len(v))
				rc = err_set(E_INVALID, "%s: contains a NUL character", vp);
			else if (label_values && !api_valid_label_value(s))
				rc = err_set(
				    E_INVALID,
				    "%s: %s is not a label value (at most 63 letters, digits, "
				    "'-', '_' and '.', starting and ending with a letter or "
				    "digit)",
				    vp, sq);
			else if (!label_values && utf8_len(s) > 4096)
				rc = err_set(E_INVALID, "%s: longer than 4096 characters", vp);
			else
				value = xstrdup(s);
		}
		free(vp);
		if (rc)
			goto done;
		kv[count].key = xstrdup(k);
		kv[count].value = value;
		count++;
	}
	/* Sorted, so the Job built from them does not depend on key order. */
	qsort(kv, count, sizeof(*kv), kv_cmp);
	*out = kv;
	*n = count;
	kv = NULL;
	count = 0;
done:
	api_kv_free(kv, count);
	free(p);
	return rc;
}

static int set_default(char **field, const char *value)
{
	if (!*field)
		*field = xstrdup(value);
	return 0;
}

/* --- database --- */

void api_database_dispose(struct api_database *d)
{
	free(d->engine);
	secret_ref_dispose(&d->connection);
	free(d->host);
	free(d->user);
	secret_ref_dispose(&d->password);
	free(d->database);
	free(d->ssl_mode);
	secret_ref_dispose(&d->ca);
	free(d->schema_version_query);
	memset(d, 0, sizeof(*d));
}

static int valid_text(const char *s)
{
	return no_controls(s);
}

static int valid_query(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 1;
	return 0;
}

int api_database_parse(struct api_database *out, struct json_object *o, const char *path)
{
	static const char *const known[] = {"engine",
					    "connectionSecretRef",
					    "host",
					    "port",
					    "user",
					    "passwordSecretRef",
					    "database",
					    "sslMode",
					    "caSecretRef",
					    "connectTimeoutSeconds",
					    "schemaVersionQuery",
					    NULL};
	static const char *const engines[] = {"postgresql", NULL};
	static const char *const ssl_modes[] = {"disable",   "allow",	    "prefer", "require",
						"verify-ca", "verify-full", NULL};
	struct api_database d = {0};
	int64_t port = API_DEFAULT_PORT, timeout = API_DEFAULT_CONNECT_TIMEOUT;
	int rc;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = api_field_enum(&d.engine, o, path, "engine", engines)) ||
	    (rc = secret_ref_field(&d.connection, o, path, "connectionSecretRef")) ||
	    (rc = field_checked(&d.host, o, path, "host", 1, 253, valid_host,
				"a host name or IP address")) ||
	    (rc = api_field_int(&port, o, path, "port", 1, 65535)) ||
	    (rc = field_checked(&d.user, o, path, "user", 1, 128, valid_text,
				"a user name (no control characters)")) ||
	    (rc = secret_ref_field(&d.password, o, path, "passwordSecretRef")) ||
	    (rc = field_checked(&d.database, o, path, "database", 1, 63, valid_text,
				"a database name (no control characters)")) ||
	    (rc = api_field_enum(&d.ssl_mode, o, path, "sslMode", ssl_modes)) ||
	    (rc = secret_ref_field(&d.ca, o, path, "caSecretRef")) ||
	    (rc = api_field_int(&timeout, o, path, "connectTimeoutSeconds", 1, 600)) ||
	    (rc = field_checked(&d.schema_version_query, o, path, "schemaVersionQuery", 1, 4096,
				valid_query, "a query (it is only white space)")))
		goto done;
	d.port = (int)port;
	d.connect_timeout_seconds = (int)timeout;
	set_default(&d.engine, "postgresql");
	set_default(&d.ssl_mode, API_DEFAULT_SSL_MODE);
	/* The CRD's rules, in its order and words. */
	if (!d.connection.name == !d.host) {
		rc = err_set(E_INVALID, "%s: %s", path,
			     d.host
				 ? "set exactly one of connectionSecretRef and host, not both: the "
				   "connection string already says where the server is"
				 : "set exactly one of connectionSecretRef (a Secret holding a "
				   "libpq URI) and host");
		goto done;
	}
	if (d.connection.name && (d.user || d.password.name)) {
		rc = err_set(E_INVALID,
			     "%s: user and passwordSecretRef go with host; with "
			     "connectionSecretRef the connection string carries them",
			     path);
		goto done;
	}
	if ((d.host && (rc = required(d.user, path, "user", "user is required with host"))) ||
	    (d.host &&
	     (rc = required(d.database, path, "database", "database is required with host"))))
		goto done;
	if ((!strcmp(d.ssl_mode, "verify-ca") || !strcmp(d.ssl_mode, "verify-full")) &&
	    !d.ca.name) {
		rc = err_set(E_INVALID,
			     "%s.caSecretRef: required: sslMode verify-ca and verify-full "
			     "need caSecretRef (the CA that signed the server's certificate)",
			     path);
		goto done;
	}
	*out = d;
	memset(&d, 0, sizeof(d));
done:
	api_database_dispose(&d);
	return rc;
}

/* --- storage --- */

static void s3_credentials_dispose(struct api_s3_credentials *c)
{
	free(c->name);
	free(c->access_key_id_key);
	free(c->secret_access_key_key);
	free(c->session_token_key);
	memset(c, 0, sizeof(*c));
}

/* credentialsSecretRef of s3 (session_token) or gcs (sa_key: the JSON key
 * form, whose key lands in *sa_key; the HMAC keys then stay NULL). */
static int s3_credentials_field(struct api_s3_credentials *out, char **sa_key,
				struct json_object *o, const char *path, int session_token)
{
	static const char *const known_s3[] = {"name", "accessKeyIdKey", "secretAccessKeyKey",
					       "sessionTokenKey", NULL};
	static const char *const known_gcs[] = {"name", "serviceAccountKeyKey", "accessKeyIdKey",
						"secretAccessKeyKey", NULL};
	struct json_object *v = NULL;
	struct api_s3_credentials c = {0};
	char *p = join(path, "credentialsSecretRef"), *sa = NULL;
	int rc;
	if ((rc = api_field_object(&v, o, path, "credentialsSecretRef")) ||
	    (rc = required(v, path, "credentialsSecretRef", "the Secret holding the access key")) ||
	    (rc = api_check_known(v, p, session_token ? known_s3 : known_gcs)) ||
	    (rc = secret_name_field(&c.name, v, p, "name")) ||
	    (rc = required(c.name, p, "name", NULL)) ||
	    (sa_key && (rc = secret_key_field(&sa, v, p, "serviceAccountKeyKey"))) ||
	    (rc = secret_key_field(&c.access_key_id_key, v, p, "accessKeyIdKey")) ||
	    (rc = secret_key_field(&c.secret_access_key_key, v, p, "secretAccessKeyKey")) ||
	    (session_token &&
	     (rc = secret_key_field(&c.session_token_key, v, p, "sessionTokenKey"))))
		goto done;
	if (sa && (c.access_key_id_key || c.secret_access_key_key)) {
		rc = err_set(E_INVALID,
			     "%s.serviceAccountKeyKey: serviceAccountKeyKey (a JSON key) and "
			     "accessKeyIdKey or secretAccessKeyKey (an HMAC key) are two forms of "
			     "credentials: set one",
			     p);
		goto done;
	}
	if (!sa) {
		set_default(&c.access_key_id_key, API_DEFAULT_ACCESS_KEY_ID_KEY);
		set_default(&c.secret_access_key_key, API_DEFAULT_SECRET_ACCESS_KEY_KEY);
	}
	*out = c;
	memset(&c, 0, sizeof(c));
	if (sa_key) {
		*sa_key = sa;
		sa = NULL;
	}
done:
	s3_credentials_dispose(&c);
	free(sa);
	free(p);
	return rc;
}

#define WHAT_S3_BUCKET                                                                             \
	"a valid bucket name (3-255 of a-z, 0-9, '.', '-', '_', starting and ending with a "       \
	"letter or digit)"

static void s3_dispose(struct api_s3 *s)
{
	free(s->bucket);
	free(s->prefix);
	free(s->endpoint);
	free(s->region);
	free(s->server_side_encryption);
	free(s->kms_key_id);
	free(s->storage_class);
	secret_ref_dispose(&s->ca);
	s3_credentials_dispose(&s->credentials);
}

static int s3_parse(struct api_storage *st, struct json_object *o, const char *path)
{
	static const char *const known[] = {"bucket",
					    "prefix",
					    "endpoint",
					    "region",
					    "forcePathStyle",
					    "serverSideEncryption",
					    "kmsKeyId",
					    "storageClass",
					    "caSecretRef",
					    "credentialsSecretRef",
					    NULL};
	static const char *const sse[] = {"AES256", "aws:kms", NULL};
	struct api_s3 s = {0};
	int rc;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = field_checked(&s.bucket, o, path, "bucket", 3, 255, valid_s3_bucket,
				WHAT_S3_BUCKET)) ||
	    (rc = required(s.bucket, path, "bucket", "the name of the bucket")) ||
	    (rc = field_checked(&s.prefix, o, path, "prefix", 1, 1024, api_valid_rel_path,
				WHAT_REL_PATH)) ||
	    (rc = field_checked(&s.endpoint, o, path, "endpoint", 0, 1024, valid_s3_endpoint,
				"an S3 endpoint (https://host[:port], no path)")) ||
	    (rc = field_checked(&s.region, o, path, "region", 1, 64, valid_region,
				"a region name (letters, digits, '-', '_')")) ||
	    (rc = api_field_bool(&s.force_path_style, o, path, "forcePathStyle")) ||
	    (rc =
		 api_field_enum(&s.server_side_encryption, o, path, "serverSideEncryption", sse)) ||
	    (rc = field_checked(&s.kms_key_id, o, path, "kmsKeyId", 1, 2048, no_space_or_controls,
				"a KMS key id (no spaces or control characters)")) ||
	    (rc = field_checked(&s.storage_class, o, path, "storageClass", 1, 64,
				valid_storage_class,
				"a storage class (capital letters, digits, '_')")) ||
	    (rc = secret_ref_field(&s.ca, o, path, "caSecretRef")) ||
	    (rc = s3_credentials_field(&s.credentials, NULL, o, path, 1)))
		goto done;
	if (s.kms_key_id &&
	    (!s.server_side_encryption || strcmp(s.server_side_encryption, "aws:kms") != 0)) {
		rc = err_set(E_INVALID, "%s.kmsKeyId: kmsKeyId needs serverSideEncryption: aws:kms",
			     path);
		goto done;
	}
	st->s3 = s;
	memset(&s, 0, sizeof(s));
done:
	s3_dispose(&s);
	return rc;
}

static void azure_dispose(struct api_azure *a)
{
	free(a->container);
	free(a->prefix);
	free(a->account_name);
	free(a->endpoint);
	secret_ref_dispose(&a->ca);
	free(a->credentials.name);
	free(a->credentials.account_key_key);
	free(a->credentials.sas_token_key);
	free(a->credentials.connection_string_key);
}

static int azure_parse(struct api_storage *st, struct json_object *o, const char *path)
{
	static const char *const known[] = {"container", "prefix",	"accountName",
					    "endpoint",	 "caSecretRef", "credentialsSecretRef",
					    NULL};
	static const char *const known_cred[] = {"name", "accountKeyKey", "sasTokenKey",
						 "connectionStringKey", NULL};
	struct api_azure a = {0};
	struct json_object *c = NULL;
	char *cp = join(path, "credentialsSecretRef");
	int rc;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = field_checked(&a.container, o, path, "container", 3, 63, valid_container,
				"a valid container name (3-63 lowercase letters, digits and single "
				"hyphens, starting and ending with a letter or digit)")) ||
	    (rc = required(a.container, path, "container", "the name of the blob container")) ||
	    (rc = field_checked(&a.prefix, o, path, "prefix", 1, 1024, api_valid_rel_path,
				WHAT_REL_PATH)) ||
	    (rc = field_checked(&a.account_name, o, path, "accountName", 3, 24, valid_account,
				"a storage account name (3-24 lowercase letters and digits)")) ||
	    (rc = field_checked(&a.endpoint, o, path, "endpoint", 0, 1024, valid_azure_endpoint,
				"a Blob service URL (http(s)://..., no spaces, '?' or '#')")) ||
	    (rc = secret_ref_field(&a.ca, o, path, "caSecretRef")) ||
	    (rc = api_field_object(&c, o, path, "credentialsSecretRef")) ||
	    (rc = required(c, path, "credentialsSecretRef", "the Secret holding the credential")) ||
	    (rc = api_check_known(c, cp, known_cred)) ||
	    (rc = secret_name_field(&a.credentials.name, c, cp, "name")) ||
	    (rc = required(a.credentials.name, cp, "name", NULL)) ||
	    (rc = secret_key_field(&a.credentials.account_key_key, c, cp, "accountKeyKey")) ||
	    (rc = secret_key_field(&a.credentials.sas_token_key, c, cp, "sasTokenKey")) ||
	    (rc = secret_key_field(&a.credentials.connection_string_key, c, cp,
				   "connectionStringKey")))
		goto done;
	int keys = !!a.credentials.account_key_key + !!a.credentials.sas_token_key +
		   !!a.credentials.connection_string_key;
	if (keys != 1) {
		rc = err_set(E_INVALID,
			     "%s: %s credential keys set: set exactly one of accountKeyKey, "
			     "sasTokenKey and connectionStringKey",
			     cp, keys ? "several" : "no");
		goto done;
	}
	if (!a.account_name && !a.credentials.connection_string_key) {
		rc = err_set(E_INVALID,
			     "%s.accountName: required: accountName is required unless the "
			     "credentials are a connection string (which names the account)",
			     path);
		goto done;
	}
	/* What the CRD cannot know: the job keeps Azure prefixes shorter. */
	if (a.prefix && strlen(a.prefix) > API_AZURE_PREFIX_MAX) {
		rc = err_set(E_INVALID,
			     "%s.prefix: %zu characters; lifeboat takes an Azure prefix of "
			     "at most %d",
			     path, strlen(a.prefix), API_AZURE_PREFIX_MAX);
		goto done;
	}
	st->azure = a;
	memset(&a, 0, sizeof(a));
done:
	azure_dispose(&a);
	free(cp);
	return rc;
}

static void gcs_dispose(struct api_gcs *g)
{
	free(g->bucket);
	free(g->prefix);
	free(g->endpoint);
	free(g->service_account_key_key);
	s3_credentials_dispose(&g->credentials);
}

static int gcs_parse(struct api_storage *st, struct json_object *o, const char *path)
{
	static const char *const known[] = {"bucket", "prefix", "endpoint", "credentialsSecretRef",
					    NULL};
	struct api_gcs g = {0};
	int rc;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = field_checked(&g.bucket, o, path, "bucket", 3, 222, valid_gcs_bucket,
				"a valid bucket name (3-222 of a-z, 0-9, '.', '-', '_', starting "
				"and ending with a letter or digit)")) ||
	    (rc = required(g.bucket, path, "bucket", "the name of the bucket")) ||
	    (rc = field_checked(&g.prefix, o, path, "prefix", 1, 1024, api_valid_rel_path,
				WHAT_REL_PATH)) ||
	    (rc = field_checked(&g.endpoint, o, path, "endpoint", 0, 1024, valid_s3_endpoint,
				"a Cloud Storage endpoint (https://host[:port], no path)")) ||
	    (rc = s3_credentials_field(&g.credentials, &g.service_account_key_key, o, path, 0)))
		goto done;
	st->gcs = g;
	memset(&g, 0, sizeof(g));
done:
	gcs_dispose(&g);
	return rc;
}

static void volume_dispose(struct api_volume *v)
{
	free(v->claim_name);
	free(v->sub_path);
}

static int volume_parse(struct api_storage *st, struct json_object *o, const char *path)
{
	static const char *const known[] = {"claimName", "subPath", NULL};
	struct api_volume v = {0};
	int rc;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = field_checked(&v.claim_name, o, path, "claimName", 1, 253, valid_secret_name,
				WHAT_NAME)) ||
	    (rc = required(v.claim_name, path, "claimName", "the PersistentVolumeClaim")) ||
	    (rc = field_checked(&v.sub_path, o, path, "subPath", 1, 1024, api_valid_rel_path,
				WHAT_REL_PATH)))
		goto done;
	st->volume = v;
	memset(&v, 0, sizeof(v));
done:
	volume_dispose(&v);
	return rc;
}

/* One row per backend: the CRD's field name, how to parse it, its prefix. */
static const struct backend {
	const char *field;
	enum api_storage_kind kind;
	int (*parse)(struct api_storage *st, struct json_object *o, const char *path);
	size_t prefix_offset;
} backends[] = {
    {"s3", API_STORAGE_S3, s3_parse, offsetof(struct api_storage, s3.prefix)},
    {"azure", API_STORAGE_AZURE, azure_parse, offsetof(struct api_storage, azure.prefix)},
    {"gcs", API_STORAGE_GCS, gcs_parse, offsetof(struct api_storage, gcs.prefix)},
    {"volume", API_STORAGE_VOLUME, volume_parse, offsetof(struct api_storage, volume.sub_path)},
};

static const struct backend *backend_of(enum api_storage_kind kind)
{
	for (size_t i = 0; i < COUNT(backends); i++)
		if (backends[i].kind == kind)
			return &backends[i];
	return NULL;
}

const char *api_storage_kind_name(enum api_storage_kind kind)
{
	const struct backend *b = backend_of(kind);
	return b ? b->field : "none";
}

const char *api_storage_prefix(const struct api_storage *s)
{
	const struct backend *b = backend_of(s->kind);
	return b ? *(char *const *)(const void *)((const char *)s + b->prefix_offset) : NULL;
}

void api_storage_dispose(struct api_storage *s)
{
	s3_dispose(&s->s3);
	azure_dispose(&s->azure);
	gcs_dispose(&s->gcs);
	volume_dispose(&s->volume);
	memset(s, 0, sizeof(*s));
}

int api_storage_parse(struct api_storage *out, struct json_object *o, const char *path)
{
	static const char *const known[] = {"s3", "azure", "gcs", "volume", NULL};
	struct api_storage s = {0};
	const struct backend *chosen = NULL;
	struct json_object *v = NULL;
	size_t n = 0;
	int rc = api_check_known(o, path, known);
	for (size_t i = 0; !rc && i < COUNT(backends); i++) {
		struct json_object *b = NULL;
		rc = api_field_object(&b, o, path, backends[i].field);
		if (b) {
			n++;
			chosen = &backends[i];
			v = b;
		}
	}
	if (!rc && n != 1)
		rc = err_set(E_INVALID, "%s: %s: set exactly one of s3, azure, gcs and volume",
			     path, n ? "several storage backends set" : "no storage backend set");
	if (rc)
		goto done;
	char *p = join(path, chosen->field);
	rc = chosen->parse(&s, v, p);
	free(p);
	if (rc)
		goto done;
	s.kind = chosen->kind;
	*out = s;
	memset(&s, 0, sizeof(s));
done:
	api_storage_dispose(&s);
	return rc;
}

int api_storage_check_keys(const struct api_storage *s, const char *path, const char *ns,
			   const char *name)
{
	const char *prefix = api_storage_prefix(s);
	const char *field = api_storage_kind_name(s->kind);
	/* The longest leaf the job writes to an object store:
	 * files-ATTEMPT.tar.zst.pgp (26; db-ATTEMPT.dump.zst.pgp is 23); 32
	 * leaves room for more. (On a volume the temporary .XXXXXX.partial is
	 * a file name of at most 41 bytes, far from NAME_MAX.) */
	size_t plen = prefix ? strlen(prefix) : 0,
	       longest = plen + 1 + strlen(ns) + 1 + strlen(name) + 1 + 32;
	if (s->kind == API_STORAGE_VOLUME) {
		/* A file system, not an object store: every component must fit NAME_MAX. */
		for (const char *p = prefix; p && *p;) {
			size_t seg = strcspn(p, "/");
			if (seg > 255)
				return err_set(E_INVALID,
					       "%s.volume.subPath: a folder name of %zu bytes; "
					       "file systems take at most 255",
					       path, seg);
			p += seg + (p[seg] == '/');
		}
		return 0;
	}
	if (longest > API_OBJECT_KEY_MAX)
		return err_set(E_INVALID,
			       "%s.%s.prefix: with namespace %s and name %s the object keys would "
			       "be up to %zu bytes, more than the %d the storage allows; use a "
			       "shorter prefix or name",
			       path, field, ns, name, longest, API_OBJECT_KEY_MAX);
	return 0;
}

/* --- encryption and files --- */

void api_encryption_dispose(struct api_encryption *e)
{
	secret_ref_dispose(&e->passphrase);
}

int api_encryption_parse(struct api_encryption *out, struct json_object *o, const char *path)
{
	static const char *const known[] = {"passphraseSecretRef", NULL};
	struct api_encryption e = {0};
	int rc;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = secret_ref_field(&e.passphrase, o, path, "passphraseSecretRef")) ||
	    (rc = required(e.passphrase.name, path, "passphraseSecretRef",
			   "the Secret key holding the passphrase")))
		goto done;
	*out = e;
	memset(&e, 0, sizeof(e));
done:
	api_encryption_dispose(&e);
	return rc;
}

void api_files_dispose(struct api_files *f)
{
	free(f->claim_name);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

int api_files_parse(struct api_files *out, struct json_object *o, const char *path)
{
	static const char *const known[] = {"claimName", "path", NULL};
	struct api_files f = {0};
	int rc;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = field_checked(&f.claim_name, o, path, "claimName", 1, 253, valid_secret_name,
				WHAT_NAME)) ||
	    (rc = required(f.claim_name, path, "claimName", "the PersistentVolumeClaim")) ||
	    (rc = field_checked(&f.path, o, path, "path", 1, 1024, api_valid_rel_path,
				WHAT_REL_PATH)))
		goto done;
	*out = f;
	memset(&f, 0, sizeof(f));
done:
	api_files_dispose(&f);
	return rc;
}

/* --- jobTemplate --- */

void api_job_template_dispose(struct api_job_template *t)
{
	free(t->image);
	free(t->image_pull_policy);
	for (size_t i = 0; i < t->nimage_pull_secrets; i++)
		free(t->image_pull_secrets[i]);
	free(t->image_pull_secrets);
	free(t->service_account_name);
	api_kv_free(t->requests, t->nrequests);
	api_kv_free(t->limits, t->nlimits);
	api_kv_free(t->node_selector, t->nnode_selector);
	for (size_t i = 0; i < t->ntolerations; i++) {
		free(t->tolerations[i].key);
		free(t->tolerations[i].operator_);
		free(t->tolerations[i].value);
		free(t->tolerations[i].effect);
	}
	free(t->tolerations);
	json_object_put(t->affinity);
	free(t->priority_class_name);
	api_kv_free(t->pod_labels, t->npod_labels);
	api_kv_free(t->pod_annotations, t->npod_annotations);
	free(t->pod_security.supplemental_groups);
	free(t->log_level);
	memset(t, 0, sizeof(*t));
}

static int pull_secrets_field(struct api_job_template *t, struct json_object *o, const char *path)
{
	static const char *const known[] = {"name", NULL};
	struct json_object *a = NULL;
	int rc = field_array(&a, o, path, "imagePullSecrets", 16);
	if (rc || !a)
		return rc;
	size_t n = json_object_array_length(a);
	t->image_pull_secrets = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n && !rc; i++) {
		struct json_object *item = json_object_array_get_idx(a, i);
		char *p = xasprintf("%s.imagePullSecrets[%zu]", path, i);
		char *name = NULL;
		if (!item || !json_object_is_type(item, json_type_object))
			rc = err_set(E_INVALID, "%s: must be an object {name}", p);
		else if (!(rc = api_check_known(item, p, known)) &&
			 !(rc = secret_name_field(&name, item, p, "name")))
			rc = required(name, p, "name", NULL);
		for (size_t k = 0; !rc && k < t->nimage_pull_secrets; k++)
			if (strcmp(t->image_pull_secrets[k], name) == 0)
				rc = err_set(E_INVALID, "%s.name: \"%s\" is listed twice", p, name);
		if (rc)
			free(name);
		else
			t->image_pull_secrets[t->nimage_pull_secrets++] = name;
		free(p);
	}
	return rc;
}

/* requests or limits: resource name -> quantity (an integer or a string). */
static int resource_list(struct api_kv **out, size_t *nout, struct json_object *o, const char *path,
			 const char *key)
{
	struct json_object *m = NULL;
	struct api_kv *kv = NULL;
	size_t n = 0;
	char *p = join(path, key);
	int rc = api_field_object(&m, o, path, key);
	if (rc || !m)
		goto done;
	if (json_object_object_length(m) > 16) {
		rc = err_set(E_INVALID, "%s: at most 16 resources", p);
		goto done;
	}
	kv = xcalloc((size_t)json_object_object_length(m) + 1, sizeof(*kv));
	json_object_object_foreach(m, k, v)
	{
		char q[128], text[32];
		const char *s = NULL;
		show(q, k);
		if (!api_valid_label_key(k)) {
			rc = err_set(E_INVALID,
				     "%s: %s is not a resource name (cpu, memory, "
				     "ephemeral-storage, or [prefix/]name)",
				     p, q);
			goto done;
		}
		if (v && json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
		    json_object_get_int64(v) < INT64_MAX) {
			snprintf(text, sizeof(text), "%lld", (long long)json_object_get_int64(v));
			s = text;
		} else if (v && json_object_is_type(v, json_type_string) &&
			   strlen(json_object_get_string(v)) ==
			       (size_t)json_object_get_string_len(v)) {
			s = json_object_get_string(v);
		}
		if (!s || !valid_quantity(s)) {
			char vq[128];
			show(vq, v ? json_object_get_string(v) : "null");
			rc = err_set(E_INVALID,
				     "%s.%s: %s is not a quantity (e.g. 500m, 2, 256Mi, 1Gi; "
				     "never negative)",
				     p, k, vq);
			goto done;
		}
		kv[n].key = xstrdup(k);
		kv[n].value = xstrdup(s);
		n++;
	}
	qsort(kv, n, sizeof(*kv), kv_cmp);
	*out = kv;
	*nout = n;
	kv = NULL;
	n = 0;
done:
	api_kv_free(kv, n);
	free(p);
	return rc;
}

static int resources_field(struct api_job_template *t, struct json_object *o, const char *path)
{
	static const char *const known[] = {"requests", "limits", NULL};
	struct json_object *r = NULL;
	char *p = join(path, "resources");
	int rc;
	if (!(rc = api_field_object(&r, o, path, "resources")) && r &&
	    !(rc = api_check_known(r, p, known)) &&
	    !(rc = resource_list(&t->requests, &t->nrequests, r, p, "requests")))
		rc = resource_list(&t->limits, &t->nlimits, r, p, "limits");
	free(p);
	return rc;
}

static int toleration_parse(struct api_toleration *out, struct json_object *o, const char *p)
{
	static const char *const known[] = {"key",    "operator",	   "value",
					    "effect", "tolerationSeconds", NULL};
	static const char *const ops[] = {"Exists", "Equal", NULL};
	static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};
	struct api_toleration t = {0};
	int64_t secs = 0;
	int rc;
	if ((rc = api_check_known(o, p, known)) ||
	    (rc = api_field_string(&t.key, o, p, "key", 0, 316)) ||
	    (rc = api_field_enum(&t.operator_, o, p, "operator", ops)) ||
	    (rc = api_field_string(&t.value, o, p, "value", 0, 63)) ||
	    (rc = api_field_enum(&t.effect, o, p, "effect", effects)) ||
	    (rc = api_field_int(&secs, o, p, "tolerationSeconds", INT64_MIN, INT64_MAX)))
		goto done;
	t.has_toleration_seconds = get(o, "tolerationSeconds") != NULL;
	t.toleration_seconds = secs;
	int exists = t.operator_ && strcmp(t.operator_, "Exists") == 0;
	/* The pod's rules, which the Job's creation would otherwise refuse. */
	if (t.key && *t.key && !api_valid_label_key(t.key))
		rc = err_set(E_INVALID, "%s.key: \"%s\" is not a taint key ([prefix/]name)", p,
			     t.key);
	else if ((!t.key || !*t.key) && !exists)
		rc = err_set(E_INVALID, "%s.operator: must be Exists when key is empty", p);
	else if (exists && t.value && *t.value)
		rc = err_set(E_INVALID, "%s.value: must be empty with operator Exists", p);
	else if (t.value && !api_valid_label_value(t.value))
		rc = err_set(E_INVALID, "%s.value: \"%s\" is not a label value", p, t.value);
	else if (t.has_toleration_seconds && (!t.effect || strcmp(t.effect, "NoExecute") != 0))
		rc = err_set(E_INVALID, "%s.tolerationSeconds: only with effect NoExecute", p);
	if (rc)
		goto done;
	*out = t;
	memset(&t, 0, sizeof(t));
done:
	free(t.key);
	free(t.operator_);
	free(t.value);
	free(t.effect);
	return rc;
}

static int tolerations_field(struct api_job_template *t, struct json_object *o, const char *path)
{
	struct json_object *a = NULL;
	int rc = field_array(&a, o, path, "tolerations", 32);
	if (rc || !a)
		return rc;
	size_t n = json_object_array_length(a);
	t->tolerations = xcalloc(n + 1, sizeof(*t->tolerations));
	for (size_t i = 0; i < n && !rc; i++) {
		struct json_object *item = json_object_array_get_idx(a, i);
		char *p = xasprintf("%s.tolerations[%zu]", path, i);
		if (!item || !json_object_is_type(item, json_type_object))
			rc = err_set(E_INVALID, "%s: must be an object", p);
		else if (!(rc = toleration_parse(&t->tolerations[t->ntolerations], item, p)))
			t->ntolerations++;
		free(p);
	}
	return rc;
}

static int affinity_field(struct api_job_template *t, struct json_object *o, const char *path)
{
	static const char *const known[] = {"nodeAffinity", "podAffinity", "podAntiAffinity", NULL};
	struct json_object *a = NULL;
	char *p = join(path, "affinity");
	int rc = api_field_object(&a, o, path, "affinity");
	if (!rc && a)
		rc = api_check_known(a, p, known);
	for (size_t i = 0; !rc && a && known[i]; i++) {
		struct json_object *part = NULL;
		rc = api_field_object(&part, a, p, known[i]);
	}
	if (!rc && a && json_object_deep_copy(a, &t->affinity, NULL) != 0)
		rc = err_set(E_INVALID, "%s: cannot be copied", p);
	free(p);
	return rc;
}

static int pod_security_field(struct api_job_template *t, struct json_object *o, const char *path)
{
	static const char *const known[] = {"runAsUser", "runAsGroup", "fsGroup",
					    "supplementalGroups", NULL};
	struct api_pod_security *ps = &t->pod_security;
	struct json_object *s = NULL, *groups = NULL;
	char *p = join(path, "podSecurityContext");
	int rc;
	if ((rc = api_field_object(&s, o, path, "podSecurityContext")) || !s ||
	    (rc = api_check_known(s, p, known)) ||
	    (rc = api_field_int(&ps->run_as_user, s, p, "runAsUser", 1, 2147483647)) ||
	    (rc = api_field_int(&ps->run_as_group, s, p, "runAsGroup", 0, 2147483647)) ||
	    (rc = api_field_int(&ps->fs_group, s, p, "fsGroup", 0, 2147483647)) ||
	    (rc = field_array(&groups, s, p, "supplementalGroups", 16)))
		goto done;
	ps->has_run_as_user = get(s, "runAsUser") != NULL;
	ps->has_run_as_group = get(s, "runAsGroup") != NULL;
	ps->has_fs_group = get(s, "fsGroup") != NULL;
	size_t n = groups ? json_object_array_length(groups) : 0;
	ps->supplemental_groups = n ? xcalloc(n, sizeof(int64_t)) : NULL;
	for (size_t i = 0; i < n && !rc; i++) {
		struct json_object *g = json_object_array_get_idx(groups, i);
		int64_t gid = json_object_get_int64(g);
		if (!g || !json_object_is_type(g, json_type_int) || gid < 0 || gid > 2147483647)
			rc = err_set(E_INVALID,
				     "%s.supplementalGroups[%zu]: must be a GID from 0 to "
				     "2147483647",
				     p, i);
		else
			ps->supplemental_groups[ps->nsupplemental_groups++] = gid;
	}
done:
	free(p);
	return rc;
}

/* Labels the operator puts on every Job and pod (jobspec.c). */
static const char *const own_labels[] = {"app.kubernetes.io/name", "app.kubernetes.io/component",
					 "app.kubernetes.io/managed-by",
					 "app.kubernetes.io/instance"};

int api_job_template_parse(struct api_job_template *out, struct json_object *o, const char *path)
{
	static const char *const known[] = {"image",
					    "imagePullPolicy",
					    "imagePullSecrets",
					    "serviceAccountName",
					    "resources",
					    "nodeSelector",
					    "tolerations",
					    "affinity",
					    "priorityClassName",
					    "podLabels",
					    "podAnnotations",
					    "podSecurityContext",
					    "activeDeadlineSeconds",
					    "backoffLimit",
					    "ttlSecondsAfterFinished",
					    "logLevel",
					    NULL};
	static const char *const policies[] = {"Always", "IfNotPresent", "Never", NULL};
	static const char *const levels[] = {"error", "warning", "info", "debug", NULL};
	struct api_job_template t = {0};
	int64_t deadline = API_DEFAULT_ACTIVE_DEADLINE, backoff = API_DEFAULT_BACKOFF_LIMIT,
		ttl = -1;
	int rc = 0;
	if (o &&
	    ((rc = api_check_known(o, path, known)) ||
	     (rc = field_checked(&t.image, o, path, "image", 1, 1024, valid_image,
				 "an image reference (no spaces or control characters)")) ||
	     (rc = api_field_enum(&t.image_pull_policy, o, path, "imagePullPolicy", policies)) ||
	     (rc = pull_secrets_field(&t, o, path)) ||
	     (rc = field_checked(&t.service_account_name, o, path, "serviceAccountName", 1, 253,
				 valid_secret_name, WHAT_NAME)) ||
	     (rc = resources_field(&t, o, path)) ||
	     (rc = api_field_labels(&t.node_selector, &t.nnode_selector, o, path, "nodeSelector",
				    32, 1, 0)) ||
	     (rc = tolerations_field(&t, o, path)) || (rc = affinity_field(&t, o, path)) ||
	     (rc = field_checked(&t.priority_class_name, o, path, "priorityClassName", 1, 253,
				 valid_secret_name, WHAT_NAME)) ||
	     (rc = api_field_labels(&t.pod_labels, &t.npod_labels, o, path, "podLabels", 32, 1,
				    1)) ||
	     (rc = api_field_labels(&t.pod_annotations, &t.npod_annotations, o, path,
				    "podAnnotations", 32, 0, 1)) ||
	     (rc = pod_security_field(&t, o, path)) ||
	     (rc = api_field_int(&deadline, o, path, "activeDeadlineSeconds", 1, 2592000)) ||
	     (rc = api_field_int(&backoff, o, path, "backoffLimit", 0, 10)) ||
	     (rc = api_field_int(&ttl, o, path, "ttlSecondsAfterFinished", 0, 31536000)) ||
	     (rc = api_field_enum(&t.log_level, o, path, "logLevel", levels))))
		goto done;
	/* The operator's own labels find its Jobs: a podLabel may not move them. */
	for (size_t i = 0; i < t.npod_labels; i++)
		for (size_t k = 0; k < COUNT(own_labels); k++)
			if (strcmp(t.pod_labels[i].key, own_labels[k]) == 0) {
				rc = err_set(E_INVALID,
					     "%s.podLabels: key \"%s\" is set by the operator",
					     path, own_labels[k]);
				goto done;
			}
	t.active_deadline_seconds = deadline;
	t.backoff_limit = (int)backoff;
	t.has_ttl_seconds_after_finished = ttl >= 0;
	t.ttl_seconds_after_finished = ttl >= 0 ? (int)ttl : 0;
	set_default(&t.log_level, API_DEFAULT_LOG_LEVEL);
	*out = t;
	memset(&t, 0, sizeof(t));
done:
	api_job_template_dispose(&t);
	return rc;
}

/* --- metadata --- */

void api_meta_dispose(struct api_meta *m)
{
	free(m->name);
	free(m->namespace_);
	free(m->uid);
	free(m->resource_version);
	free(m->deletion_timestamp);
	for (size_t i = 0; i < m->nfinalizers; i++)
		free(m->finalizers[i]);
	free(m->finalizers);
	api_kv_free(m->labels, m->nlabels);
	memset(m, 0, sizeof(*m));
}

static int valid_namespace(const char *s)
{
	return api_valid_dns_label(s);
}

int api_meta_parse(struct api_meta *out, struct json_object *o, const char *path)
{
	struct api_meta m = {0};
	struct json_object *fin = NULL;
	int rc;
	if ((rc = field_checked(&m.name, o, path, "name", 1, 253, valid_secret_name, WHAT_NAME)) ||
	    (rc = required(m.name, path, "name", NULL)) ||
	    (rc = field_checked(
		 &m.namespace_, o, path, "namespace", 1, 63, valid_namespace,
		 "a valid namespace (at most 63 lowercase letters, digits and '-')")) ||
	    (rc = required(m.namespace_, path, "namespace", "the kinds are namespaced")) ||
	    (rc = field_checked(&m.uid, o, path, "uid", 1, 128, no_space_or_controls, "a uid")) ||
	    (rc = required(m.uid, path, "uid", "the Job's ownerReference needs it")) ||
	    (rc = api_field_int(&m.generation, o, path, "generation", 0, INT64_MAX)) ||
	    (rc = api_field_string(&m.resource_version, o, path, "resourceVersion", 1, 128)) ||
	    (rc = api_field_string(&m.deletion_timestamp, o, path, "deletionTimestamp", 1, 64)) ||
	    (rc = field_array(&fin, o, path, "finalizers", 256)) ||
	    (rc = api_field_labels(&m.labels, &m.nlabels, o, path, "labels", 1024, 1, 0)))
		goto done;
	size_t n = fin ? json_object_array_length(fin) : 0;
	m.finalizers = n ? xcalloc(n, sizeof(char *)) : NULL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(fin, i);
		if (!f || !json_object_is_type(f, json_type_string)) {
			rc = err_set(E_INVALID, "%s.finalizers[%zu]: must be a string", path, i);
			goto done;
		}
		m.finalizers[m.nfinalizers++] = xstrdup(json_object_get_string(f));
	}
	*out = m;
	memset(&m, 0, sizeof(m));
done:
	api_meta_dispose(&m);
	return rc;
}

int api_object_head(struct api_meta *meta, struct json_object **spec, struct json_object *obj,
		    const char *kind)
{
	struct api_meta m = {0};
	struct json_object *mo = NULL, *so = NULL;
	char *api_version = NULL, *k = NULL;
	int rc = 0;
	if (!obj || !json_object_is_type(obj, json_type_object))
		rc = err_set(E_INVALID, "a %s must be a JSON object", kind);
	else if (!(rc = api_field_string(&api_version, obj, "", "apiVersion", 1, 64)) &&
		 !(rc = api_field_string(&k, obj, "", "kind", 1, 64))) {
		if (api_version && strcmp(api_version, API_GROUP_VERSION) != 0)
			rc = err_set(E_INVALID, "apiVersion: \"%s\" is not %s", api_version,
				     API_GROUP_VERSION);
		else if (k && strcmp(k, kind) != 0)
			rc = err_set(E_INVALID, "kind: \"%s\" is not %s", k, kind);
	}
	if (!rc && !(rc = api_field_object(&mo, obj, "", "metadata")) && !mo)
		rc = err_set(E_INVALID, "metadata: required");
	if (!rc && !(rc = api_meta_parse(&m, mo, "metadata")) &&
	    !(rc = api_field_object(&so, obj, "", "spec")) && !so)
		rc = err_set(E_INVALID, "spec: required");
	if (rc) {
		api_meta_dispose(&m);
	} else {
		*meta = m;
		*spec = so;
	}
	free(api_version);
	free(k);
	return rc;
}

int api_meta_has_finalizer(const struct api_meta *m, const char *finalizer)
{
	for (size_t i = 0; i < m->nfinalizers; i++)
		if (strcmp(m->finalizers[i], finalizer) == 0)
			return 1;
	return 0;
}

/* --- conditions --- */

static int valid_condition_type(const char *s)
{
	const char *slash = strchr(s, '/');
	if (slash) {
		char prefix[254];
		size_t plen = (size_t)(slash - s);
		if (plen == 0 || plen > 253)
			return 0;
		memcpy(prefix, s, plen);
		prefix[plen] = '\0';
		if (!api_valid_dns_subdomain(prefix, 253))
			return 0;
		s = slash + 1;
	}
	return valid_name_part(s, strlen(s), 316);
}

static int valid_reason(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 1024 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && !(i < n - 1 && (s[i] == ',' || s[i] == ':')))
			return 0;
	return 1;
}

static const char *obj_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

#define CONDITION_MESSAGE_MAX 32768

int api_conditions_set(struct json_object *conditions, const struct api_condition *c, time_t now)
{
	if (!conditions || !json_object_is_type(conditions, json_type_array))
		return err_set(E_INVALID, "conditions: not a list");
	if (!c->type || !valid_condition_type(c->type))
		return err_set(E_INVALID, "condition type \"%s\" is not CamelCase",
			       c->type ? c->type : "");
	if (!c->status || (strcmp(c->status, "True") && strcmp(c->status, "False") &&
			   strcmp(c->status, "Unknown")))
		return err_set(E_INVALID, "condition %s: status must be True, False or Unknown",
			       c->type);
	if (!c->reason || !valid_reason(c->reason))
		return err_set(E_INVALID, "condition %s: reason \"%s\" is not CamelCase", c->type,
			       c->reason ? c->reason : "");
	const char *msg = c->message ? c->message : "";
	size_t mlen = strlen(msg);
	if (mlen > CONDITION_MESSAGE_MAX) {
		mlen = CONDITION_MESSAGE_MAX;
		while (mlen > 0 && ((unsigned char)msg[mlen] & 0xc0) == 0x80)
			mlen--;
	}
	char *message = xstrndup(msg, mlen);
	size_t n = json_object_array_length(conditions), idx = n;
	struct json_object *old = NULL;
	for (size_t i = 0; i < n && !old; i++) {
		struct json_object *e = json_object_array_get_idx(conditions, i);
		if (e && same(obj_str(e, "type"), c->type)) {
			old = e;
			idx = i;
		}
	}
	struct json_object *gen = old ? get(old, "observedGeneration") : NULL;
	int changed = 1;
	if (old && same(obj_str(old, "status"), c->status) &&
	    same(obj_str(old, "reason"), c->reason) && same(obj_str(old, "message"), message) &&
	    gen && json_object_get_int64(gen) == c->observed_generation &&
	    obj_str(old, "lastTransitionTime"))
		changed = 0;
	if (changed) {
		char when[32];
		const char *keep = old && same(obj_str(old, "status"), c->status)
				       ? obj_str(old, "lastTransitionTime")
				       : NULL;
		if (keep)
			snprintf(when, sizeof(when), "%s", keep);
		else
			jobresult_time_format(when, now);
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "type", json_object_new_string(c->type));
		json_object_object_add(e, "status", json_object_new_string(c->status));
		json_object_object_add(e, "observedGeneration",
				       json_object_new_int64(c->observed_generation));
		json_object_object_add(e, "lastTransitionTime", json_object_new_string(when));
		json_object_object_add(e, "reason", json_object_new_string(c->reason));
		json_object_object_add(e, "message", json_object_new_string(message));
		if (idx < n)
			json_object_array_put_idx(conditions, idx, e);
		else
			json_object_array_add(conditions, e);
	}
	free(message);
	return changed;
}

static const char *condition_field(struct json_object *conditions, const char *type,
				   const char *field)
{
	size_t n = conditions && json_object_is_type(conditions, json_type_array)
		       ? json_object_array_length(conditions)
		       : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(conditions, i);
		if (e && same(obj_str(e, "type"), type))
			return obj_str(e, field);
	}
	return NULL;
}

const char *api_conditions_status(struct json_object *conditions, const char *type)
{
	return condition_field(conditions, type, "status");
}

const char *api_conditions_reason(struct json_object *conditions, const char *type)
{
	return condition_field(conditions, type, "reason");
}
