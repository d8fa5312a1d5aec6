/* Azure Blob's pure core: URL and connection-string parsing, SharedKey
 * signing, block ids and the small XML replies, with no I/O. */
#include "job/store/azure.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"

/* --- base64 --- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *azure_base64(const uint8_t *p, size_t n)
{
	char *out = xmalloc((n + 2) / 3 * 4 + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[k++] = b64[(v >> 18) & 63];
		out[k++] = b64[(v >> 12) & 63];
		out[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[k] = '\0';
	return out;
}

int azure_base64_decode(uint8_t **out, size_t *outlen, const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n % 4 != 0)
		return E_INVALID;
	uint8_t *buf = xmalloc(n / 4 * 3);
	size_t k = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			char c = s[i + j];
			const char *at = c ? strchr(b64, c) : NULL;
			if (c == '=' && i + 4 == n && j >= 2 && (j == 3 || s[i + 3] == '=')) {
				pad++;
				v <<= 6;
			} else if (at && !pad) {
				v = (v << 6) | (uint32_t)(at - b64);
			} else {
				OPENSSL_cleanse(buf, n / 4 * 3);
				free(buf);
				return E_INVALID;
			}
		}
		buf[k++] = (uint8_t)(v >> 16);
		if (pad < 2)
			buf[k++] = (uint8_t)(v >> 8);
		if (pad < 1)
			buf[k++] = (uint8_t)v;
	}
	*out = buf;
	*outlen = k;
	return 0;
}

/* --- names and URLs --- */

int azure_check_account(const char *account, const char *what)
{
	size_t n = strlen(account);
	int ok = n >= 3 && n <= 24;
	for (size_t i = 0; ok && i < n; i++)
		ok = (account[i] >= 'a' && account[i] <= 'z') ||
		     (account[i] >= '0' && account[i] <= '9');
	if (!ok)
		return err_set(E_INVALID,
			       "%s: storage account \"%s\" is not valid: an account name has 3-24 "
			       "lowercase letters and digits",
			       what, account);
	return 0;
}

int azure_check_container(const char *c, const char *what)
{
	size_t n = strlen(c);
	int ok = n >= 3 && n <= 63 && c[0] != '-' && c[n - 1] != '-' && !strstr(c, "--");
	for (size_t i = 0; ok && i < n; i++)
		ok = (c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '-';
	if (!ok)
		return err_set(
		    E_INVALID,
		    "%s: container \"%s\" is not valid: a container name has 3-63 lowercase "
		    "letters, digits and single hyphens, starting and ending with a letter "
		    "or digit",
		    what, c);
	return 0;
}

/* "8MiB", "512KiB", "4194304": bytes, or 0 when malformed. */
static size_t parse_size(const char *s)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	unsigned long long mul = 1;
	if (*end == '\0' || strcasecmp(end, "B") == 0)
		mul = 1;
	else if (strcasecmp(end, "K") == 0 || strcasecmp(end, "KiB") == 0)
		mul = 1024;
	else if (strcasecmp(end, "M") == 0 || strcasecmp(end, "MiB") == 0)
		mul = 1024 * 1024;
	else if (strcasecmp(end, "G") == 0 || strcasecmp(end, "GiB") == 0)
		mul = 1024 * 1024 * 1024;
	else
		return 0;
	if (v > (unsigned long long)SIZE_MAX / mul)
		return 0;
	return (size_t)(v * mul);
}

static int parse_int(int *out, const char *s, int lo, int hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

void azure_url_dispose(struct azure_url *u)
{
	free(u->container);
	free(u->prefix);
	free(u->account);
	free(u->endpoint);
	free(u->ca_file);
	memset(u, 0, sizeof(*u));
}

/* One "name=value" of the storage URL's query. */
static int url_param(struct azure_url *u, const char *url, const char *name, char *value)
{
	static const char *const secrets[] = {
	    "sig", "sv", "se", "sp", "ss", "srt", "key", "accountkey", "sas", "connectionstring"};
	char **slot = NULL;
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strcasecmp(name, secrets[i]) == 0)
			return err_set(
			    E_INVALID,
			    "storage URL: \"%s\" looks like a credential: credentials never "
			    "go in the URL (it is logged and shown); set AZURE_STORAGE_KEY, "
			    "AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING "
			    "instead",
			    name);
	if (strcmp(name, "account") == 0) {
		slot = &u->account;
	} else if (strcmp(name, "endpoint") == 0) {
		if (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0)
			return err_set(
			    E_INVALID,
			    "storage URL %s: endpoint \"%s\" must start with https:// (or "
			    "http:// for an emulator)",
			    url, value);
		size_t n = strlen(value);
		while (n > 0 && value[n - 1] == '/')
			value[--n] = '\0';
		slot = &u->endpoint;
	} else if (strcmp(name, "caFile") == 0) {
		slot = &u->ca_file;
	} else if (strcmp(name, "blockSize") == 0) {
		size_t v = parse_size(value);
		if (v < AZURE_BLOCK_SIZE_MIN || v > AZURE_BLOCK_SIZE_MAX)
			return err_set(E_INVALID,
				       "storage URL %s: blockSize \"%s\" must be a size from 64KiB "
				       "to 1GiB, like 8MiB",
				       url, value);
		u->block_size = v;
		return 0;
	} else if (strcmp(name, "parallel") == 0) {
		if (parse_int(&u->parallel, value, 1, 16))
			return err_set(E_INVALID,
				       "storage URL %s: parallel \"%s\" must be 1 to 16 (blocks "
				       "uploaded at once)",
				       url, value);
		return 0;
	} else if (strcmp(name, "retries") == 0) {
		if (parse_int(&u->retries, value, 1, 20))
			return err_set(
			    E_INVALID,
			    "storage URL %s: retries \"%s\" must be 1 to 20 (attempts per "
			    "request)",
			    url, value);
		return 0;
	} else {
		return err_set(
		    E_INVALID,
		    "storage URL %s: unknown parameter \"%s\"; known: account, endpoint, "
		    "blockSize, parallel, retries, caFile",
		    url, name);
	}
	if (*slot)
		return err_set(E_INVALID, "storage URL %s: parameter \"%s\" given twice", url,
			       name);
	if (!*value)
		return err_set(E_INVALID, "storage URL %s: parameter \"%s\" is empty", url, name);
	*slot = xstrdup(value);
	return 0;
}

int azure_url_parse(struct azure_url *out, const char *url)
{
	struct azure_url u;
	int rc = 0;
	memset(&u, 0, sizeof(u));
	u.block_size = AZURE_BLOCK_SIZE_DEFAULT;
	u.parallel = AZURE_PARALLEL_DEFAULT;
	u.retries = AZURE_RETRIES_DEFAULT;
	if (strncmp(url, "azure://", 8) != 0)
		return err_set(E_INVALID, "storage URL %s: expected azure://CONTAINER/PREFIX", url);
	const char *p = url + 8;
	const char *q = strchr(p, '?');
	const char *pend = q ? q : p + strlen(p);
	const char *slash = memchr(p, '/', (size_t)(pend - p));
	const char *cend = slash ? slash : pend;
	u.container = xstrndup(p, (size_t)(cend - p));
	if (!*u.container) {
		rc = err_set(E_INVALID,
			     "storage URL %s: no container: use azure://CONTAINER/PREFIX", url);
		goto done;
	}
	if ((rc = azure_check_container(u.container, "storage URL")))
		goto done;
	/* The prefix: folders separated by single slashes, no "." or "..". */
	const char *pp = slash ? slash + 1 : cend;
	while (pp < pend && *pp == '/')
		pp++;
	const char *pe = pend;
	while (pe > pp && pe[-1] == '/')
		pe--;
	u.prefix = xstrndup(pp, (size_t)(pe - pp));
	for (char *seg = u.prefix; *u.prefix;) {
		size_t n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			rc = err_set(
			    E_INVALID,
			    "storage URL %s: the prefix \"%s\" has an empty, \".\" or \"..\" "
			    "folder",
			    url, u.prefix);
			goto done;
		}
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)seg[i] < 0x20 || seg[i] == '\\' || seg[i] == '#') {
				rc = err_set(E_INVALID,
					     "storage URL %s: the prefix has a control character, "
					     "'\\' or '#'",
					     url);
				goto done;
			}
		if (!seg[n])
			break;
		seg += n + 1;
	}
	if (strlen(u.prefix) > 512) {
		rc = err_set(E_INVALID, "storage URL %s: the prefix is longer than 512 characters",
			     url);
		goto done;
	}
	for (const char *a = q ? q + 1 : NULL; a && *a;) {
		size_t n = strcspn(a, "&");
		const char *eq = memchr(a, '=', n);
		if (n > 0) {
			if (!eq) {
				char *nm = xstrndup(a, n);
				rc = err_set(E_INVALID,
					     "storage URL %s: parameter \"%s\" has no value", url,
					     nm);
				free(nm);
				goto done;
			}
			char *name = text_pct_decode(a, (size_t)(eq - a), 1);
			char *value = text_pct_decode(eq + 1, n - (size_t)(eq - a) - 1, 1);
			if (!name || !value)
				rc = err_set(E_INVALID,
					     "storage URL %s: a bad %%-escape in the query", url);
			else
				rc = url_param(&u, url, name, value);
			free(name);
			free(value);
			if (rc)
				goto done;
		}
		a += n;
		if (*a == '&')
			a++;
	}
	if (u.account && (rc = azure_check_account(u.account, "storage URL")))
		goto done;
done:
	if (rc)
		azure_url_dispose(&u);
	else
		*out = u;
	return rc;
}

void azure_conn_dispose(struct azure_conn *c)
{
	if (c->key) {
		OPENSSL_cleanse(c->key, strlen(c->key));
		free(c->key);
	}
	if (c->sas) {
		OPENSSL_cleanse(c->sas, strlen(c->sas));
		free(c->sas);
	}
	free(c->account);
	free(c->blob_endpoint);
	free(c->protocol);
	free(c->suffix);
	memset(c, 0, sizeof(*c));
}

/* The well-known emulator account (published by Microsoft for Azurite). */
#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY                                                                                    \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_ENDPOINT "http://127.0.0.1:10000/devstoreaccount1"

int azure_conn_parse(struct azure_conn *out, const char *s)
{
	struct azure_conn c;
	int rc = 0;
	memset(&c, 0, sizeof(c));
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ";");
		const char *eq = memchr(p, '=', n);
		const char *k = p;
		while (k < p + n && isspace((unsigned char)*k))
			k++;
		if (k < p + n) {
			if (!eq) {
				rc = err_set(E_INVALID,
					     "the Azure connection string has a part without "
					     "'=' (expected Key=Value;Key=Value)");
				goto done;
			}
			size_t klen = (size_t)(eq - k);
			while (klen > 0 && isspace((unsigned char)k[klen - 1]))
				klen--;
			char *value = xstrndup(eq + 1, n - (size_t)(eq - p) - 1);
			char **slot = NULL;
			static const struct {
				const char *name;
				size_t off;
			} keys[] = {
			    {"AccountName", offsetof(struct azure_conn, account)},
			    {"AccountKey", offsetof(struct azure_conn, key)},
			    {"SharedAccessSignature", offsetof(struct azure_conn, sas)},
			    {"BlobEndpoint", offsetof(struct azure_conn, blob_endpoint)},
			    {"DefaultEndpointsProtocol", offsetof(struct azure_conn, protocol)},
			    {"EndpointSuffix", offsetof(struct azure_conn, suffix)},
			};
			for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
				if (strlen(keys[i].name) == klen &&
				    strncasecmp(k, keys[i].name, klen) == 0)
					slot = (char **)(void *)((char *)&c + keys[i].off);
			if (klen == strlen("UseDevelopmentStorage") &&
			    strncasecmp(k, "UseDevelopmentStorage", klen) == 0 &&
			    strcasecmp(value, "true") == 0) {
				free(c.account);
				free(c.blob_endpoint);
				if (c.key)
					OPENSSL_cleanse(c.key, strlen(c.key));
				free(c.key);
				c.account = xstrdup(DEV_ACCOUNT);
				c.key = xstrdup(DEV_KEY);
				c.blob_endpoint = xstrdup(DEV_ENDPOINT);
			} else if (slot) {
				if (*slot) {
					OPENSSL_cleanse(*slot, strlen(*slot));
					free(*slot);
				}
				*slot = value;
				value = NULL;
			}
			/* Other keys (QueueEndpoint, ...) do not concern blobs. */
			if (value) {
				OPENSSL_cleanse(value, strlen(value));
				free(value);
			}
		}
		p += n;
		if (*p == ';')
			p++;
	}
	if (c.sas && c.sas[0] == '?')
		memmove(c.sas, c.sas + 1, strlen(c.sas));
	if (c.blob_endpoint) {
		size_t n = strlen(c.blob_endpoint);
		while (n > 0 && c.blob_endpoint[n - 1] == '/')
			c.blob_endpoint[--n] = '\0';
		if (strncmp(c.blob_endpoint, "https://", 8) != 0 &&
		    strncmp(c.blob_endpoint, "http://", 7) != 0) {
			rc = err_set(E_INVALID,
				     "the Azure connection string's BlobEndpoint must start "
				     "with https:// or http://");
			goto done;
		}
	}
	if (c.protocol && strcmp(c.protocol, "https") != 0 && strcmp(c.protocol, "http") != 0) {
		rc = err_set(E_INVALID,
			     "the Azure connection string's DefaultEndpointsProtocol must "
			     "be https or http");
		goto done;
	}
	if (!c.account && !c.blob_endpoint && !c.sas && !c.key) {
		rc = err_set(E_INVALID, "the Azure connection string names no AccountName, "
					"AccountKey, BlobEndpoint or SharedAccessSignature");
		goto done;
	}
done:
	if (rc)
		azure_conn_dispose(&c);
	else
		*out = c;
	return rc;
}

/* --- signing --- */

void azure_http_date(char out[32], time_t now)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void azure_block_id(char out[AZURE_BLOCK_ID_LEN + 1], int n)
{
	char digits[8];
	snprintf(digits, sizeof(digits), "%06d", n % 1000000);
	char *id = azure_base64((const uint8_t *)digits, 6);
	memcpy(out, id, AZURE_BLOCK_ID_LEN + 1);
	free(id);
}

static const char *header_value(const struct azure_sign_input *in, const char *name)
{
	for (size_t i = 0; i < in->nheaders; i++)
		if (strcasecmp(in->headers[i].name, name) == 0)
			return in->headers[i].value;
	return NULL;
}

struct pair {
	char *name, *value;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

/* The value with runs of whitespace folded into one space, trimmed. */
static void add_folded(struct buf *out, const char *v)
{
	int space = 0, any = 0;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			space = any;
			continue;
		}
		if (space)
			buf_add(out, " ", 1);
		buf_add(out, v, 1);
		space = 0;
		any = 1;
	}
}

int azure_string_to_sign(struct buf *out, const struct azure_sign_input *in)
{
	static const char *const standard[] = {"Content-Encoding",
					       "Content-Language",
					       "Content-Length",
					       "Content-MD5",
					       "Content-Type",
					       "Date",
					       "If-Modified-Since",
					       "If-Match",
					       "If-None-Match",
					       "If-Unmodified-Since",
					       "Range"};
	struct pair *pairs = NULL;
	size_t npairs = 0;
	int rc = 0;

	buf_adds(out, in->method);
	buf_add(out, "\n", 1);
	for (size_t i = 0; i < sizeof(standard) / sizeof(standard[0]); i++) {
		const char *v = header_value(in, standard[i]);
		if (v && !(strcmp(standard[i], "Content-Length") == 0 && strcmp(v, "0") == 0))
			buf_adds(out, v);
		buf_add(out, "\n", 1);
	}
	/* CanonicalizedHeaders: x-ms-*, lowercase, sorted, one per line. */
	pairs = xcalloc(in->nheaders + 1, sizeof(*pairs));
	for (size_t i = 0; i < in->nheaders; i++) {
		if (strncasecmp(in->headers[i].name, "x-ms-", 5) != 0)
			continue;
		char *name = xstrdup(in->headers[i].name);
		for (char *c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		pairs[npairs].name = name;
		pairs[npairs].value = xstrdup(in->headers[i].value);
		npairs++;
	}
	qsort(pairs, npairs, sizeof(*pairs), cmp_pair);
	for (size_t i = 0; i < npairs; i++) {
		buf_adds(out, pairs[i].name);
		buf_add(out, ":", 1);
		add_folded(out, pairs[i].value);
		buf_add(out, "\n", 1);
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	pairs = NULL;

	/* CanonicalizedResource: /account/path, then each query parameter
	 * decoded, lowercase name, values of a repeated name sorted and
	 * comma-joined, names sorted. */
	buf_add(out, "/", 1);
	buf_adds(out, in->account);
	buf_adds(out, in->path && *in->path ? in->path : "/");
	size_t cap = 0;
	npairs = 0;
	for (const char *a = in->query; a && *a;) {
		size_t n = strcspn(a, "&");
		if (n > 0) {
			const char *eq = memchr(a, '=', n);
			size_t nlen = eq ? (size_t)(eq - a) : n;
			char *name = text_pct_decode(a, nlen, 1);
			char *value = eq ? text_pct_decode(eq + 1, n - nlen - 1, 1) : xstrdup("");
			if (!name || !value) {
				free(name);
				free(value);
				rc = err_set(E_INVALID, "a bad %%-escape in the request's query");
				goto done;
			}
			for (char *c = name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			if (npairs == cap) {
				cap = cap ? cap * 2 : 8;
				pairs = xrealloc(pairs, cap * sizeof(*pairs));
			}
			pairs[npairs].name = name;
			pairs[npairs].value = value;
			npairs++;
		}
		a += n;
		if (*a == '&')
			a++;
	}
	if (npairs)
		qsort(pairs, npairs, sizeof(*pairs), cmp_pair);
	for (size_t i = 0; i < npairs; i++) {
		if (i > 0 && strcmp(pairs[i].name, pairs[i - 1].name) == 0) {
			buf_add(out, ",", 1);
		} else {
			buf_add(out, "\n", 1);
			buf_adds(out, pairs[i].name);
			buf_add(out, ":", 1);
		}
		buf_adds(out, pairs[i].value);
	}
done:
	for (size_t i = 0; i < npairs; i++) {
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	return rc;
}

int azure_sign(char **out, const struct azure_sign_input *in, const uint8_t *key, size_t keylen)
{
	struct buf sts;
	/* Queries and headers are short: 1 MiB is far beyond any string-to-sign. */
	buf_init(&sts, 1024 * 1024);
	int rc = azure_string_to_sign(&sts, in);
	if (!rc) {
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		if (!HMAC(EVP_sha256(), key, (int)keylen, (const uint8_t *)buf_str(&sts), sts.len,
			  mac, &maclen)) {
			rc = err_set(E_INVALID, "HMAC-SHA256 failed");
		} else {
			char *sig = azure_base64(mac, maclen);
			*out = xasprintf("SharedKey %s:%s", in->account, sig);
			free(sig);
		}
	}
	buf_dispose(&sts);
	return rc;
}

void azure_content_md5(char out[25], const uint8_t *p, size_t n)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_Digest(p, n, md, &len, EVP_md5(), NULL);
	char *s = azure_base64(md, len);
	snprintf(out, 25, "%s", s);
	free(s);
}

char *azure_block_list_xml(int count)
{
	struct buf b;
	buf_init(&b, (size_t)-1);
	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (int i = 1; i <= count; i++) {
		char id[AZURE_BLOCK_ID_LEN + 1];
		azure_block_id(id, i);
		buf_addf(&b, "<Latest>%s</Latest>", id);
	}
	buf_adds(&b, "</BlockList>");
	return buf_take(&b);
}

/* --- XML: just enough for Azure's replies --- */

struct span {
	const char *p;
	size_t n;
};

static int is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Finds the next element named tag in [p, end). Returns 0 with its
 * attributes, content and the position after it; 1 when there is none;
 * -1 when the XML is malformed (an unclosed tag or element). */
static int xml_find(struct span *attrs, struct span *content, const char **after, const char *p,
		    const char *end, const char *tag)
{
	size_t tl = strlen(tag);
	for (const char *q = p; q < end; q++) {
		if (*q != '<')
			continue;
		if ((size_t)(end - q) < tl + 2)
			return 1;
		if (memcmp(q + 1, tag, tl) != 0)
			continue;
		const char *a = q + 1 + tl;
		if (*a != '>' && *a != '/' && !is_xml_space(*a))
			continue;
		const char *gt = memchr(a, '>', (size_t)(end - a));
		if (!gt)
			return -1;
		if (gt > a && gt[-1] == '/') {
			*attrs = (struct span){a, (size_t)(gt - 1 - a)};
			*content = (struct span){gt + 1, 0};
			*after = gt + 1;
			return 0;
		}
		*attrs = (struct span){a, (size_t)(gt - a)};
		const char *s = gt + 1;
		for (const char *r = s; r + 2 + tl <= end; r++) {
			if (r[0] != '<' || r[1] != '/' || memcmp(r + 2, tag, tl) != 0)
				continue;
			const char *z = r + 2 + tl;
			while (z < end && is_xml_space(*z))
				z++;
			if (z < end && *z == '>') {
				*content = (struct span){s, (size_t)(r - s)};
				*after = z + 1;
				return 0;
			}
		}
		return -1;
	}
	return 1;
}

static void put_utf8(char *out, size_t *k, unsigned long cp)
{
	if (cp < 0x80) {
		out[(*k)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*k)++] = (char)(0xC0 | (cp >> 6));
		out[(*k)++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[(*k)++] = (char)(0xE0 | (cp >> 12));
		out[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*k)++] = (char)(0x80 | (cp & 0x3F));
	} else {
		out[(*k)++] = (char)(0xF0 | (cp >> 18));
		out[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*k)++] = (char)(0x80 | (cp & 0x3F));
	}
}

/* Text content with the five named entities and numeric references
 * decoded; NULL for an unknown or bad entity, markup or a NUL. */
static char *xml_decode(struct span s)
{
	/* Decoding never grows the text (the longest UTF-8 sequence, 4 bytes,
	 * comes from at least "&#x10000;"). */
	char *out = xmalloc(s.n + 1);
	size_t k = 0;
	static const struct {
		const char *name;
		char c;
	} named[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (c == '<' || c == '\0')
			goto bad;
		if (c != '&') {
			out[k++] = c;
			continue;
		}
		const char *semi = memchr(s.p + i, ';', s.n - i);
		if (!semi || semi - (s.p + i) > 12)
			goto bad;
		size_t elen = (size_t)(semi - (s.p + i)) + 1; /* "&...;" */
		const char *e = s.p + i + 1;
		int done = 0;
		for (size_t j = 0; j < sizeof(named) / sizeof(named[0]); j++)
			if (strlen(named[j].name) == elen - 1 &&
			    memcmp(e, named[j].name, elen - 1) == 0) {
				out[k++] = named[j].c;
				done = 1;
			}
		if (!done) {
			if (*e != '#' || elen < 4)
				goto bad;
			int hex = e[1] == 'x' || e[1] == 'X';
			const char *d = e + 1 + hex;
			if (d >= semi)
				goto bad;
			unsigned long cp = 0;
			for (; d < semi; d++) {
				int v = hex ? text_hexval((unsigned char)*d)
					    : (*d >= '0' && *d <= '9' ? *d - '0' : -1);
				if (v < 0 || cp > 0x10FFFF)
					goto bad;
				cp = cp * (hex ? 16 : 10) + (unsigned long)v;
			}
			if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
				goto bad;
			put_utf8(out, &k, cp);
		}
		i += elen - 1;
	}
	out[k] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

char *azure_xml_text(const char *p, size_t len, const char *tag)
{
	struct span attrs, content;
	const char *after;
	if (!p || xml_find(&attrs, &content, &after, p, p + len, tag) != 0)
		return NULL;
	return xml_decode(content);
}

void azure_error_parse(char **code, char **message, const char *xml, size_t len)
{
	struct span attrs, err = {xml, len};
	const char *after;
	*code = *message = NULL;
	if (!xml)
		return;
	if (xml_find(&attrs, &err, &after, xml, xml + len, "Error") != 0)
		return;
	*code = azure_xml_text(err.p, err.n, "Code");
	*message = azure_xml_text(err.p, err.n, "Message");
	if (*message) {
		(*message)[strcspn(*message, "\r\n")] = '\0';
		size_t n = strlen(*message);
		if (n > 300)
			memcpy(*message + 297, "...", 4);
	}
	if (*code && (!**code || strlen(*code) > 100)) {
		free(*code);
		*code = NULL;
	}
}

/* Whether a start tag's attributes say Encoded="true" (names that are not
 * valid XML are sent percent-encoded). */
static int encoded_attr(struct span a)
{
	static const char want[] = "Encoded=\"true\"";
	size_t wl = sizeof(want) - 1;
	for (size_t i = 0; i + wl <= a.n; i++)
		if (memcmp(a.p + i, want, wl) == 0)
			return 1;
	return 0;
}

int azure_list_parse(char **next_marker, const char *xml, size_t len, azure_blob_cb cb, void *ud)
{
	struct span attrs, doc, blobs, blob, nattrs, name, props, size;
	const char *after, *rest;
	char *marker = NULL;
	int rc = 0, f;
	if (!xml || xml_find(&attrs, &doc, &after, xml, xml + len, "EnumerationResults") != 0)
		return err_set(E_STORE,
			       "the List Blobs reply is not an <EnumerationResults> document");
	rest = doc.p;
	f = xml_find(&attrs, &blobs, &after, doc.p, doc.p + doc.n, "Blobs");
	if (f < 0)
		return err_set(E_STORE, "the List Blobs reply has a malformed <Blobs> element");
	if (f == 0) {
		rest = after;
		for (const char *p = blobs.p; !rc;) {
			f = xml_find(&attrs, &blob, &after, p, blobs.p + blobs.n, "Blob");
			if (f > 0)
				break;
			if (f < 0)
				return err_set(E_STORE,
					       "the List Blobs reply has a malformed <Blob>");
			p = after;
			const char *a2;
			if (xml_find(&nattrs, &name, &a2, blob.p, blob.p + blob.n, "Name") != 0 ||
			    xml_find(&attrs, &props, &a2, blob.p, blob.p + blob.n, "Properties") !=
				0 ||
			    xml_find(&attrs, &size, &a2, props.p, props.p + props.n,
				     "Content-Length") != 0)
				return err_set(E_STORE,
					       "the List Blobs reply has a <Blob> without a "
					       "<Name> or <Properties><Content-Length>");
			char *text = xml_decode(name);
			if (text && encoded_attr(nattrs)) {
				char *dec = text_pct_decode(text, strlen(text), 1);
				free(text);
				text = dec;
			}
			char digits[24];
			int size_ok = size.n > 0 && size.n < sizeof(digits);
			for (size_t i = 0; size_ok && i < size.n; i++)
				size_ok = size.p[i] >= '0' && size.p[i] <= '9';
			if (!text || !*text || !size_ok) {
				free(text);
				return err_set(E_STORE,
					       "the List Blobs reply has a blob with a malformed "
					       "name or size");
			}
			memcpy(digits, size.p, size.n);
			digits[size.n] = '\0';
			errno = 0;
			unsigned long long v = strtoull(digits, NULL, 10);
			if (errno) {
				free(text);
				return err_set(E_STORE,
					       "the List Blobs reply has a blob size out of range");
			}
			rc = cb(text, (uint64_t)v, ud);
			free(text);
		}
		if (rc)
			return rc;
	}
	f = xml_find(&attrs, &name, &after, rest, doc.p + doc.n, "NextMarker");
	if (f < 0)
		return err_set(E_STORE, "the List Blobs reply has a malformed <NextMarker>");
	if (f == 0 && name.n > 0) {
		marker = xml_decode(name);
		if (!marker)
			return err_set(E_STORE,
				       "the List Blobs reply has a malformed <NextMarker>");
	}
	*next_marker = marker;
	return 0;
}
