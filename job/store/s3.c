/* S3 URL parsing, request paths, the credentials file and XML extraction:
 * pure functions, covered by tests/unit/test_s3.c. */
#include "job/store/s3.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "job/store/sigv4.h"

#define MAX_ATTEMPTS_DEFAULT 6
#define STALL_SECONDS_DEFAULT 60
#define MAX_KEYS_DEFAULT 1000

void s3_config_dispose(struct s3_config *c)
{
	free(c->scheme);
	free(c->bucket);
	free(c->prefix);
	free(c->endpoint);
	free(c->host);
	free(c->region);
	free(c->sse);
	free(c->kms_key_id);
	free(c->storage_class);
	free(c->ca_bundle);
	memset(c, 0, sizeof(*c));
}

int s3_parse_size(uint64_t *out, const char *s)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {{"", 1},
		     {"B", 1},
		     {"KiB", 1024},
		     {"MiB", 1024 * 1024},
		     {"GiB", 1024ull * 1024 * 1024},
		     {"K", 1024},
		     {"M", 1024 * 1024},
		     {"G", 1024ull * 1024 * 1024},
		     {"KB", 1000},
		     {"MB", 1000 * 1000},
		     {"GB", 1000ull * 1000 * 1000}};
	if (!s || !isdigit((unsigned char)*s))
		return err_set(E_INVALID,
			       "\"%s\" is not a size: use bytes or a number with KiB, MiB "
			       "or GiB, like 8MiB",
			       s ? s : "");
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (errno || v > UINT64_MAX / units[i].mult)
				break;
			*out = (uint64_t)v * units[i].mult;
			return 0;
		}
	}
	return err_set(E_INVALID,
		       "\"%s\" is not a size: use bytes or a number with KiB, MiB or "
		       "GiB, like 8MiB",
		       s);
}

static int parse_int(long *out, const char *v, long lo, long hi, const char *suffix)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*v))
		return -1;
	long n = strtol(v, &end, 10);
	if (errno || (*end && !(suffix && strcmp(end, suffix) == 0)) || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

/* Bucket names: 3-255 of a-z 0-9 . - _, starting and ending alphanumeric
 * (S3 allows 63; GCS's dotted names reach 222). */
static int valid_bucket(const char *b, size_t n)
{
	if (n < 3 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '.' && c != '-' && c != '_')
			return 0;
		if ((i == 0 || i == n - 1) && !alnum)
			return 0;
	}
	return 1;
}

/* "https://host[:port][/]": sets endpoint (no trailing slash) and the
 * host[:port] part. */
static int parse_endpoint(struct s3_config *c, const char *v, const char *scheme)
{
	const char *rest;
	if (strncmp(v, "https://", 8) == 0)
		rest = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		rest = v + 7;
	else
		return err_set(E_INVALID,
			       "%s:// storage URL: endpoint \"%s\" must start with https:// "
			       "(or http:// for a local test server)",
			       scheme, v);
	size_t n = strcspn(rest, "/?#");
	if (rest[n] && !(rest[n] == '/' && rest[n + 1] == '\0'))
		return err_set(E_INVALID,
			       "%s:// storage URL: endpoint \"%s\" must be scheme://host[:port] "
			       "without a path; the bucket goes in %s://BUCKET/...",
			       scheme, v, scheme);
	if (n == 0 || memchr(rest, '@', n))
		return err_set(E_INVALID,
			       "%s:// storage URL: endpoint \"%s\" needs a host (and no "
			       "user:password@: credentials come from the environment)",
			       scheme, v);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)rest[i];
		if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '[' ||
		      ch == ']' || ch == '_'))
			return err_set(E_INVALID,
				       "%s:// storage URL: endpoint \"%s\" has a bad host name",
				       scheme, v);
	}
	c->endpoint = xstrndup(v, (size_t)(rest - v) + n);
	c->host = xstrndup(rest, n);
	return 0;
}

static const char *const known_params[] = {
    "endpoint", "region",	"style",    "partSize",	   "inFlight",	   "sse",
    "kmsKeyId", "storageClass", "caBundle", "maxAttempts", "stallTimeout", "maxKeys",
};

static int apply_param(struct s3_config *c, const char *scheme, const char *name, const char *v,
		       char **style)
{
	long n;
	uint64_t size = 0;
	if (strcmp(name, "endpoint") == 0)
		return parse_endpoint(c, v, scheme);
	if (strcmp(name, "region") == 0) {
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
				return err_set(E_INVALID,
					       "%s:// storage URL: region \"%s\" is not a region "
					       "name like us-east-1",
					       scheme, v);
		if (!*v)
			return err_set(E_INVALID, "%s:// storage URL: region is empty", scheme);
		c->region = xstrdup(v);
		return 0;
	}
	if (strcmp(name, "style") == 0) {
		if (strcmp(v, "path") != 0 && strcmp(v, "virtual") != 0)
			return err_set(E_INVALID,
				       "%s:// storage URL: style \"%s\" must be path or virtual",
				       scheme, v);
		*style = xstrdup(v);
		return 0;
	}
	if (strcmp(name, "partSize") == 0) {
		if (s3_parse_size(&size, v))
			return err_set(E_INVALID, "%s:// storage URL: partSize: %s", scheme,
				       err_msg());
		if (size < S3_MIN_PART_SIZE || size > S3_MAX_PART_SIZE)
			return err_set(E_INVALID,
				       "%s:// storage URL: partSize %s is outside 5MiB..5GiB "
				       "(the S3 limits for a part)",
				       scheme, v);
		c->part_size = (size_t)size;
		return 0;
	}
	if (strcmp(name, "inFlight") == 0) {
		if (parse_int(&n, v, 1, 16, NULL))
			return err_set(E_INVALID,
				       "%s:// storage URL: inFlight \"%s\" must be 1..16 (parts "
				       "uploaded at once)",
				       scheme, v);
		c->in_flight = (int)n;
		return 0;
	}
	if (strcmp(name, "sse") == 0) {
		if (strcmp(v, "AES256") != 0 && strcmp(v, "aws:kms") != 0)
			return err_set(E_INVALID,
				       "%s:// storage URL: sse \"%s\" must be AES256 or aws:kms",
				       scheme, v);
		c->sse = xstrdup(v);
		return 0;
	}
	if (strcmp(name, "kmsKeyId") == 0 || strcmp(name, "storageClass") == 0) {
		for (const char *p = v; *p; p++)
			if (!isgraph((unsigned char)*p))
				return err_set(E_INVALID,
					       "%s:// storage URL: %s has a space or control "
					       "character",
					       scheme, name);
		if (!*v)
			return err_set(E_INVALID, "%s:// storage URL: %s is empty", scheme, name);
		if (name[0] == 'k')
			c->kms_key_id = xstrdup(v);
		else
			c->storage_class = xstrdup(v);
		return 0;
	}
	if (strcmp(name, "caBundle") == 0) {
		if (!*v)
			return err_set(E_INVALID, "%s:// storage URL: caBundle is empty", scheme);
		c->ca_bundle = xstrdup(v);
		return 0;
	}
	if (strcmp(name, "maxAttempts") == 0) {
		if (parse_int(&n, v, 1, 20, NULL))
			return err_set(E_INVALID,
				       "%s:// storage URL: maxAttempts \"%s\" must be 1..20",
				       scheme, v);
		c->max_attempts = (int)n;
		return 0;
	}
	if (strcmp(name, "stallTimeout") == 0) {
		if (parse_int(&n, v, 1, 3600, "s"))
			return err_set(E_INVALID,
				       "%s:// storage URL: stallTimeout \"%s\" must be 1..3600 "
				       "seconds",
				       scheme, v);
		c->stall_seconds = n;
		return 0;
	}
	if (strcmp(name, "maxKeys") == 0) {
		if (parse_int(&n, v, 1, 1000, NULL))
			return err_set(E_INVALID,
				       "%s:// storage URL: maxKeys \"%s\" must be 1..1000", scheme,
				       v);
		c->max_keys = (int)n;
		return 0;
	}
	struct buf known;
	buf_init(&known, 4096);
	for (size_t i = 0; i < sizeof(known_params) / sizeof(known_params[0]); i++)
		buf_addf(&known, "%s%s", i ? ", " : "", known_params[i]);
	int rc = err_set(E_INVALID, "%s:// storage URL: unknown parameter \"%s\"; known: %s",
			 scheme, name, buf_str(&known));
	buf_dispose(&known);
	return rc;
}

static int parse_query(struct s3_config *c, const char *scheme, const char *q, char **style)
{
	int rc = 0;
	char *seen = xstrdup("&");
	while (!rc && *q) {
		size_t n = strcspn(q, "&");
		if (n == 0) {
			q++;
			continue;
		}
		const char *eq = memchr(q, '=', n);
		if (!eq) {
			rc = err_set(E_INVALID,
				     "%s:// storage URL: parameter \"%.*s\" has no value "
				     "(name=value)",
				     scheme, (int)(n > 64 ? 64 : n), q);
			break;
		}
		char *name = xstrndup(q, (size_t)(eq - q));
		char *value = text_pct_decode(eq + 1, (size_t)(q + n - eq - 1), 0);
		char *mark = xasprintf("&%s&", name);
		if (!value)
			rc = err_set(E_INVALID,
				     "%s:// storage URL: parameter %s has a bad %%-escape", scheme,
				     name);
		else if (strstr(seen, mark))
			rc = err_set(E_INVALID, "%s:// storage URL: parameter %s is given twice",
				     scheme, name);
		else
			rc = apply_param(c, scheme, name, value, style);
		char *more = xasprintf("%s%s&", seen, name);
		free(seen);
		seen = more;
		free(mark);
		free(name);
		if (value)
			OPENSSL_cleanse(value, strlen(value));
		free(value);
		q += n;
	}
	free(seen);
	return rc;
}

int s3_config_parse(struct s3_config *out, const char *url, const char *env_region)
{
	struct s3_config c;
	char *style = NULL;
	int rc = 0;
	memset(&c, 0, sizeof(c));
	const char *sep = strstr(url, "://");
	if (!sep ||
	    !((sep - url == 2 && (strncmp(url, "s3", 2) == 0 || strncmp(url, "gs", 2) == 0))))
		return err_set(E_INVALID, "storage URL: expected s3://BUCKET/PREFIX or "
					  "gs://BUCKET/PREFIX");
	c.scheme = xstrndup(url, 2);
	const char *p = sep + 3;
	size_t blen = strcspn(p, "/?#");
	if (memchr(p, '@', blen)) {
		rc = err_set(E_INVALID,
			     "%s:// storage URL: credentials do not belong in the URL; set "
			     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment "
			     "(or a credentials file)",
			     c.scheme);
		goto done;
	}
	if (!valid_bucket(p, blen)) {
		rc = err_set(E_INVALID,
			     "%s:// storage URL: bucket \"%.*s\" is not a valid bucket name "
			     "(3-255 of a-z, 0-9, '.', '-', '_', starting and ending with a "
			     "letter or digit)",
			     c.scheme, (int)(blen > 300 ? 300 : blen), p);
		goto done;
	}
	c.bucket = xstrndup(p, blen);
	p += blen;
	if (*p == '#') {
		rc = err_set(E_INVALID, "%s:// storage URL: a \"#\" fragment is not allowed",
			     c.scheme);
		goto done;
	}
	const char *q = strchr(p, '?');
	size_t plen = q ? (size_t)(q - p) : strlen(p);
	if (memchr(p, '#', plen)) {
		rc = err_set(E_INVALID, "%s:// storage URL: \"#\" is not allowed in the prefix",
			     c.scheme);
		goto done;
	}
	while (plen > 0 && *p == '/') {
		p++;
		plen--;
	}
	while (plen > 0 && p[plen - 1] == '/')
		plen--;
	c.prefix = xstrndup(p, plen);
	if (strstr(c.prefix, "//")) {
		rc = err_set(E_INVALID,
			     "%s:// storage URL: prefix \"%s\" has an empty segment (\"//\")",
			     c.scheme, c.prefix);
		goto done;
	}
	for (const char *s = c.prefix; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			rc = err_set(E_INVALID,
				     "%s:// storage URL: the prefix has a control character",
				     c.scheme);
			goto done;
		}
	}
	if (q && (rc = parse_query(&c, c.scheme, q + 1, &style)))
		goto done;

	int gcs = strcmp(c.scheme, "gs") == 0;
	if (!c.region)
		c.region = xstrdup(gcs			       ? "auto"
				   : env_region && *env_region ? env_region
							       : "us-east-1");
	int custom = c.endpoint != NULL;
	if (!c.endpoint) {
		char *ep = gcs ? xstrdup("https://storage.googleapis.com")
			       : xasprintf("https://s3.%s.amazonaws.com", c.region);
		rc = parse_endpoint(&c, ep, c.scheme);
		free(ep);
		if (rc)
			goto done;
	}
	/* AWS itself: virtual-hosted (path style is deprecated there) unless
	 * a dotted name would break TLS; elsewhere path style, which every
	 * S3-compatible server and a plain IP or localhost endpoint support. */
	if (style)
		c.virtual_style = strcmp(style, "virtual") == 0;
	else
		c.virtual_style = !custom && !gcs && !strchr(c.bucket, '.');
	if (c.virtual_style) {
		char *h = xasprintf("%s.%s", c.bucket, c.host);
		free(c.host);
		c.host = h;
	}
	if (c.kms_key_id && (!c.sse || strcmp(c.sse, "aws:kms") != 0)) {
		rc = err_set(E_INVALID, "%s:// storage URL: kmsKeyId needs sse=aws:kms", c.scheme);
		goto done;
	}
	if (!c.part_size)
		c.part_size = S3_DEFAULT_PART_SIZE;
	if (!c.in_flight)
		c.in_flight = S3_DEFAULT_IN_FLIGHT;
	if (!c.max_attempts)
		c.max_attempts = MAX_ATTEMPTS_DEFAULT;
	if (!c.stall_seconds)
		c.stall_seconds = STALL_SECONDS_DEFAULT;
	if (!c.max_keys)
		c.max_keys = MAX_KEYS_DEFAULT;
done:
	free(style);
	if (rc)
		s3_config_dispose(&c);
	else
		*out = c;
	return rc;
}

char *s3_config_display(const struct s3_config *c)
{
	return *c->prefix ? xasprintf("%s://%s/%s", c->scheme, c->bucket, c->prefix)
			  : xasprintf("%s://%s", c->scheme, c->bucket);
}

char *s3_config_object_key(const struct s3_config *c, const char *key)
{
	return *c->prefix ? xasprintf("%s/%s", c->prefix, key) : xstrdup(key);
}

char *s3_config_path(const struct s3_config *c, const char *object_key)
{
	struct buf b;
	buf_init(&b, (size_t)-1);
	buf_adds(&b, "/");
	if (!c->virtual_style) {
		sigv4_uri_encode(&b, c->bucket, strlen(c->bucket), 0);
		if (object_key)
			buf_adds(&b, "/");
	}
	if (object_key)
		sigv4_uri_encode(&b, object_key, strlen(object_key), 1);
	return buf_take(&b);
}

/* Credentials file: INI sections, "key = value" lines, # and ; comments. */
static char *trimmed(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	return xstrndup(p, n);
}

void s3_credentials_dispose(struct s3_credentials *c)
{
	char **v[] = {&c->access_key, &c->secret_key, &c->session_token};
	for (size_t i = 0; i < 3; i++) {
		if (*v[i]) {
			OPENSSL_cleanse(*v[i], strlen(*v[i]));
			free(*v[i]);
			*v[i] = NULL;
		}
	}
}

int s3_credentials_parse(struct s3_credentials *out, const char *text, const char *profile)
{
	struct s3_credentials c = {NULL, NULL, NULL};
	int in = 0, found = 0;
	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		char *l = trimmed(line, n);
		if (l[0] == '[') {
			char *end = strchr(l, ']');
			if (end) {
				char *name = trimmed(l + 1, (size_t)(end - l - 1));
				in = strcmp(name, profile) == 0;
				found |= in;
				free(name);
			} else {
				in = 0;
			}
		} else if (in && l[0] && l[0] != '#' && l[0] != ';') {
			char *eq = strchr(l, '=');
			if (eq) {
				char *k = trimmed(l, (size_t)(eq - l));
				char *v = trimmed(eq + 1, strlen(eq + 1));
				char **slot = NULL;
				if (strcmp(k, "aws_access_key_id") == 0)
					slot = &c.access_key;
				else if (strcmp(k, "aws_secret_access_key") == 0)
					slot = &c.secret_key;
				else if (strcmp(k, "aws_session_token") == 0)
					slot = &c.session_token;
				if (slot) {
					if (*slot) {
						OPENSSL_cleanse(*slot, strlen(*slot));
						free(*slot);
					}
					*slot = v;
				} else {
					OPENSSL_cleanse(v, strlen(v));
					free(v);
				}
				free(k);
			}
		}
		OPENSSL_cleanse(l, strlen(l));
		free(l);
		line = eol ? eol + 1 : NULL;
	}
	if (!found || !c.access_key || !*c.access_key || !c.secret_key || !*c.secret_key) {
		s3_credentials_dispose(&c);
		return err_set(E_NOTFOUND,
			       "profile [%s] with aws_access_key_id and "
			       "aws_secret_access_key not found",
			       profile);
	}
	*out = c;
	return 0;
}

/* XML. */
static const char *find(const char *hay, size_t len, size_t from, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0 || from > len)
		return NULL;
	for (size_t i = from; i + n <= len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

int s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag, struct s3_span *content)
{
	size_t tlen = strlen(tag);
	char *open = xasprintf("<%s", tag), *close = xasprintf("</%s>", tag);
	size_t at = *pos;
	int found = 0;
	for (;;) {
		const char *o = find(xml, len, at, open);
		if (!o)
			break;
		size_t after = (size_t)(o - xml) + 1 + tlen;
		if (after >= len)
			break;
		char c = xml[after];
		if (c != '>' && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '/') {
			at = after; /* <KeyCount> when looking for <Key> */
			continue;
		}
		const char *gt = memchr(xml + after, '>', len - after);
		if (!gt)
			break;
		if (gt[-1] == '/') { /* <Tag/>: empty */
			content->p = gt + 1;
			content->n = 0;
			*pos = (size_t)(gt - xml) + 1;
			found = 1;
			break;
		}
		size_t start = (size_t)(gt - xml) + 1;
		const char *e = find(xml, len, start, close);
		if (!e)
			break;
		content->p = xml + start;
		content->n = (size_t)(e - xml) - start;
		*pos = (size_t)(e - xml) + strlen(close);
		found = 1;
		break;
	}
	free(open);
	free(close);
	return found;
}

char *s3_xml_text(struct s3_span in, const char *tag)
{
	size_t pos = 0;
	struct s3_span v;
	if (!in.p || !s3_xml_next(in.p, in.n, &pos, tag, &v))
		return NULL;
	return s3_xml_decode(v.p, v.n);
}

/* UTF-8 for a code point; 0 bytes for one that is not a valid scalar. */
static size_t utf8(char out[4], unsigned long cp)
{
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

char *s3_xml_decode(const char *p, size_t n)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
	struct buf b;
	buf_init(&b, (size_t)-1);
	buf_add(&b, "", 0);
	for (size_t i = 0; i < n;) {
		if (n - i >= 9 && memcmp(p + i, "<![CDATA[", 9) == 0) {
			const char *e = find(p, n, i + 9, "]]>");
			size_t end = e ? (size_t)(e - p) : n;
			buf_add(&b, p + i + 9, end - i - 9);
			i = e ? end + 3 : n;
			continue;
		}
		if (p[i] != '&') {
			buf_add(&b, p + i, 1);
			i++;
			continue;
		}
		const char *semi = memchr(p + i, ';', n - i < 12 ? n - i : 12);
		int done = 0;
		if (semi) {
			size_t elen = (size_t)(semi - p) - i - 1;
			const char *e = p + i + 1;
			if (elen >= 2 && e[0] == '#') {
				unsigned long cp = 0;
				int hex = e[1] == 'x' || e[1] == 'X';
				size_t k = hex ? 2 : 1, digits = 0;
				for (; k < elen; k++, digits++) {
					int d =
					    hex ? text_hexval(e[k])
						: (e[k] >= '0' && e[k] <= '9' ? e[k] - '0' : -1);
					if (d < 0 || cp > 0x10FFFF)
						break;
					cp = cp * (hex ? 16 : 10) + (unsigned long)d;
				}
				char u[4];
				size_t un;
				if (k == elen && digits > 0 && (un = utf8(u, cp)) > 0) {
					buf_add(&b, u, un);
					done = 1;
				}
			} else {
				for (size_t j = 0; j < sizeof(named) / sizeof(named[0]); j++) {
					if (strlen(named[j].name) == elen &&
					    memcmp(e, named[j].name, elen) == 0) {
						buf_add(&b, &named[j].c, 1);
						done = 1;
						break;
					}
				}
			}
			if (done) {
				i = (size_t)(semi - p) + 1;
				continue;
			}
		}
		buf_add(&b, "&", 1);
		i++;
	}
	return buf_take(&b);
}

int s3_xml_escape(struct buf *out, const char *s)
{
	int rc = 0;
	for (; *s && !rc; s++) {
		switch (*s) {
		case '&':
			rc = buf_adds(out, "&amp;");
			break;
		case '<':
			rc = buf_adds(out, "&lt;");
			break;
		case '>':
			rc = buf_adds(out, "&gt;");
			break;
		case '"':
			rc = buf_adds(out, "&quot;");
			break;
		case '\'':
			rc = buf_adds(out, "&apos;");
			break;
		default:
			rc = buf_add(out, s, 1);
		}
	}
	return rc;
}
