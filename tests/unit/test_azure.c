/* Tests for job/store/azure.c (the pure core of the Azure Blob backend: SharedKey
 * signing, URLs, connection strings, block ids, XML replies) and the parts of
 * job/store/store_azure.c that need no network (opening, locations).
 *
 * The expected signatures were computed independently of this code, with
 * Python's standard library, by tests/storage/azure_tool.py (written from
 * Microsoft's "Authorize with Shared Key" documentation):
 *   python3 tests/storage/azure_tool.py - - - sign-vector
 * prints the Put Block vector; the others come from its string_to_sign() and
 * sign() = base64(HMAC-SHA256(base64decode(key), string-to-sign)). The same
 * signer is checked against Azurite by tests/storage/azure.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "job/store/azure.h"
#include "job/store/store.h"

/* The emulator's published well-known key. */
#define DEV_KEY                                                                                    \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static void check_sign(const struct azure_sign_input *in, const char *want_sts,
		       const char *want_auth)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(azure_string_to_sign(&b, in), 0);
	assert_string_equal(buf_str(&b), want_sts);
	buf_dispose(&b);
	uint8_t *key;
	size_t keylen;
	assert_int_equal(azure_base64_decode(&key, &keylen, DEV_KEY), 0);
	assert_int_equal(keylen, 64);
	char *auth = NULL;
	assert_int_equal(azure_sign(&auth, in, key, keylen), 0);
	assert_string_equal(auth, want_auth);
	free(auth);
	free(key);
}

static void sign__put_block_matches_python_vector(void **state)
{
	(void)state;
	const struct azure_header h[] = {
	    {"x-ms-date", "Sun, 22 Nov 2026 01:11:09 GMT"},
	    {"x-ms-version", "2021-08-06"},
	    {"Content-Length", "11"},
	    {"Content-Type", "application/octet-stream"},
	    {"Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="},
	    {"x-ms-blob-type", "BlockBlob"},
	};
	const struct azure_sign_input in = {"PUT",
					    "devstoreaccount1",
					    "/devstoreaccount1/backups/p/a%20b.txt",
					    "comp=block&blockid=MDAwMDAx",
					    h,
					    sizeof(h) / sizeof(h[0])};
	check_sign(&in,
		   "PUT\n\n\n11\nXrY7u+Ae7tCTyyK7j1rNww==\napplication/octet-stream\n\n\n\n\n\n\n"
		   "x-ms-blob-type:BlockBlob\nx-ms-date:Sun, 22 Nov 2026 01:11:09 GMT\n"
		   "x-ms-version:2021-08-06\n"
		   "/devstoreaccount1/devstoreaccount1/backups/p/a%20b.txt\nblockid:MDAwMDAx\n"
		   "comp:block",
		   "SharedKey devstoreaccount1:qU+yurkEb+nCQeMwTQHThAQGpNrfD9BT5FiC9GTdXTs=");
}

/* The documented CanonicalizedResource rules: parameter names lowercased and
 * sorted, values decoded, repeated values sorted and comma-joined (the
 * docs' "include:metadata,snapshots,uncommittedblobs" example); Range and
 * If-Match in their slots; x-ms-* names lowercased, values folded. */
static void sign__list_with_repeated_params_range_and_if_match(void **state)
{
	(void)state;
	const struct azure_header h[] = {
	    {"x-ms-date", "Sun, 22 Nov 2026 01:11:09 GMT"},
	    {"x-ms-version", "2021-08-06"},
	    {"Range", "bytes=1048576-"},
	    {"If-Match", "\"0x8DAB1234\""},
	    {"X-MS-Client-Request-Id", "  a   b  "},
	};
	const struct azure_sign_input in = {"GET",
					    "myaccount",
					    "/mycontainer",
					    "restype=container&comp=list&include=snapshots&include="
					    "metadata&include=uncommittedblobs"
					    "&Prefix=a%2Fb%20c",
					    h,
					    sizeof(h) / sizeof(h[0])};
	check_sign(&in,
		   "GET\n\n\n\n\n\n\n\n\"0x8DAB1234\"\n\n\nbytes=1048576-\n"
		   "x-ms-client-request-id:a b\nx-ms-date:Sun, 22 Nov 2026 01:11:09 GMT\n"
		   "x-ms-version:2021-08-06\n/myaccount/mycontainer\ncomp:list\n"
		   "include:metadata,snapshots,uncommittedblobs\nprefix:a/b c\nrestype:container",
		   "SharedKey myaccount:4/JatewXiONXjVQZ8sN621PfMLnhI8HiTpSGzdu8ObY=");
}

/* From version 2015-02-21 a zero Content-Length is signed as empty. */
static void sign__zero_content_length_is_empty(void **state)
{
	(void)state;
	const struct azure_header h[] = {
	    {"x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"},
	    {"x-ms-version", "2021-08-06"},
	    {"Content-Length", "0"},
	    {"Content-Type", "application/octet-stream"},
	    {"x-ms-blob-type", "BlockBlob"},
	};
	const struct azure_sign_input in = {
	    "PUT", "devstoreaccount1",	    "/devstoreaccount1/backups/empty", NULL,
	    h,	   sizeof(h) / sizeof(h[0])};
	check_sign(&in,
		   "PUT\n\n\n\n\napplication/octet-stream\n\n\n\n\n\n\nx-ms-blob-type:BlockBlob\n"
		   "x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2021-08-06\n"
		   "/devstoreaccount1/devstoreaccount1/backups/empty",
		   "SharedKey devstoreaccount1:WVjPNE/BGEWHO7Kd1S/G3dnCYxpnSsLjAEde5vupB90=");
}

static void sign__different_key_gives_different_signature(void **state)
{
	(void)state;
	const struct azure_header h[] = {{"x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"}};
	const struct azure_sign_input in = {"GET", "acct", "/c/b", NULL, h, 1};
	char *a = NULL, *b = NULL;
	assert_int_equal(azure_sign(&a, &in, (const uint8_t *)"key-one", 7), 0);
	assert_int_equal(azure_sign(&b, &in, (const uint8_t *)"key-two", 7), 0);
	assert_string_not_equal(a, b);
	assert_true(strncmp(a, "SharedKey acct:", 15) == 0);
	free(a);
	free(b);
}

static void sign__rejects_a_bad_query_escape(void **state)
{
	(void)state;
	static const char *const bad[] = {"comp=%zz", "a=%4", "a=%", "%00=x", "a=b%00"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct azure_sign_input in = {"GET", "acct", "/c", bad[i], NULL, 0};
		char *out = NULL;
		assert_int_equal(azure_sign(&out, &in, (const uint8_t *)"k", 1), E_INVALID);
		assert_null(out);
	}
}

static void sign__empty_path_and_query_segments(void **state)
{
	(void)state;
	const struct azure_sign_input in = {"GET", "acct", "", "&&a=1&&b&", NULL, 0};
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(azure_string_to_sign(&b, &in), 0);
	assert_string_equal(buf_str(&b), "GET\n\n\n\n\n\n\n\n\n\n\n\n/acct/\na:1\nb:");
	buf_dispose(&b);
}

static void base64__round_trips_and_pads(void **state)
{
	(void)state;
	static const struct {
		const char *plain, *b64;
	} cases[] = {{"", ""},
		     {"f", "Zg=="},
		     {"fo", "Zm8="},
		     {"foo", "Zm9v"},
		     {"foob", "Zm9vYg=="},
		     {"fooba", "Zm9vYmE="},
		     {"foobar", "Zm9vYmFy"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *e = azure_base64((const uint8_t *)cases[i].plain, strlen(cases[i].plain));
		assert_string_equal(e, cases[i].b64);
		free(e);
		if (!*cases[i].b64)
			continue;
		uint8_t *d;
		size_t n;
		assert_int_equal(azure_base64_decode(&d, &n, cases[i].b64), 0);
		assert_int_equal(n, strlen(cases[i].plain));
		assert_memory_equal(d, cases[i].plain, n);
		free(d);
	}
}

static void base64_decode__rejects_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {"",	   "Zg",   "Zg=",  "Z===", "=Zg=", "Zg==Zg==",
					  "Zm9v!", "Zm 9", "Zm9-", "Zm_v", "Z=g=", "not base64!"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *d = NULL;
		size_t n = 0;
		assert_int_equal(azure_base64_decode(&d, &n, bad[i]), E_INVALID);
		assert_null(d);
	}
}

static void block_id__base64_of_six_digits_all_one_length(void **state)
{
	(void)state;
	char id[AZURE_BLOCK_ID_LEN + 1];
	azure_block_id(id, 1);
	assert_string_equal(id, "MDAwMDAx"); /* base64("000001") */
	azure_block_id(id, 50000);
	assert_string_equal(id, "MDUwMDAw"); /* base64("050000") */
	for (int n = 1; n <= AZURE_BLOCKS_MAX; n += 997) {
		azure_block_id(id, n);
		assert_int_equal(strlen(id), AZURE_BLOCK_ID_LEN);
	}
}

static void block_list_xml__lists_every_block_in_order(void **state)
{
	(void)state;
	char *x = azure_block_list_xml(2);
	assert_string_equal(x, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
			       "<Latest>MDAwMDAx</Latest><Latest>MDAwMDAy</Latest></BlockList>");
	free(x);
}

static void content_md5__is_base64_md5(void **state)
{
	(void)state;
	char md5[25];
	azure_content_md5(md5, (const uint8_t *)"hello world", 11);
	assert_string_equal(md5, "XrY7u+Ae7tCTyyK7j1rNww==");
	azure_content_md5(md5, (const uint8_t *)"", 0);
	assert_string_equal(md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
}

static void http_date__rfc1123_gmt(void **state)
{
	(void)state;
	char d[32];
	azure_http_date(d, 1795309869);
	assert_string_equal(d, "Sun, 22 Nov 2026 01:11:09 GMT");
	azure_http_date(d, 951782400);
	assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 GMT");
	azure_http_date(d, 0);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void escape__keeps_unreserved_and_optionally_slash(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	text_pct_encode(&b, "ns/a b+c=d&é~_.-", 1);
	assert_string_equal(buf_str(&b), "ns/a%20b%2Bc%3Dd%26%C3%A9~_.-");
	buf_reset(&b);
	text_pct_encode(&b, "MDAw+/==", 0);
	assert_string_equal(buf_str(&b), "MDAw%2B%2F%3D%3D");
	buf_dispose(&b);
}

static void url_parse__defaults_and_parameters(void **state)
{
	(void)state;
	struct azure_url u;
	assert_int_equal(azure_url_parse(&u, "azure://backups"), 0);
	assert_string_equal(u.container, "backups");
	assert_string_equal(u.prefix, "");
	assert_null(u.account);
	assert_null(u.endpoint);
	assert_int_equal(u.block_size, 8 * 1024 * 1024);
	assert_int_equal(u.parallel, 2);
	assert_int_equal(u.retries, 5);
	azure_url_dispose(&u);

	assert_int_equal(
	    azure_url_parse(&u, "azure://backups//prod/eu///?account=devstoreaccount1&"
				"endpoint=http://127.0.0.1:10000/devstoreaccount1/&"
				"blockSize=4MiB&parallel=3&retries=2&caFile=%2Fetc%2Fca.pem"),
	    0);
	assert_string_equal(u.container, "backups");
	assert_string_equal(u.prefix, "prod/eu");
	assert_string_equal(u.account, "devstoreaccount1");
	assert_string_equal(u.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
	assert_string_equal(u.ca_file, "/etc/ca.pem");
	assert_int_equal(u.block_size, 4 * 1024 * 1024);
	assert_int_equal(u.parallel, 3);
	assert_int_equal(u.retries, 2);
	azure_url_dispose(&u);

	assert_int_equal(azure_url_parse(&u, "azure://abc/p?blockSize=65536"), 0);
	assert_int_equal(u.block_size, 65536);
	azure_url_dispose(&u);
	assert_int_equal(azure_url_parse(&u, "azure://abc/p?blockSize=1GiB"), 0);
	assert_int_equal(u.block_size, 1024u * 1024 * 1024);
	azure_url_dispose(&u);
}

static void url_parse__rejects_bad_urls_naming_the_part(void **state)
{
	(void)state;
	static const struct {
		const char *url, *says;
	} bad[] = {
	    {"s3://b/p", "expected azure://"},
	    {"azure://", "no container"},
	    {"azure:///p", "no container"},
	    {"azure://ab/p", "not valid"},
	    {"azure://Backups/p", "not valid"},
	    {"azure://my_container/p", "not valid"},
	    {"azure://-abc/p", "not valid"},
	    {"azure://ab--c/p", "not valid"},
	    {"azure://abc-/p", "not valid"},
	    {"azure://abc/a/../b", "\"..\""},
	    {"azure://abc/a/./b", "\"..\""},
	    {"azure://abc/a//b", "empty"},
	    {"azure://abc/a\tb", "control character"},
	    {"azure://abc/p?account=Bad-Name", "account"},
	    {"azure://abc/p?account=ab", "account"},
	    {"azure://abc/p?account=a&account=b", "twice"},
	    {"azure://abc/p?account=", "empty"},
	    {"azure://abc/p?account", "no value"},
	    {"azure://abc/p?endpoint=ftp://x", "must start with https://"},
	    {"azure://abc/p?blockSize=1KiB", "blockSize"},
	    {"azure://abc/p?blockSize=2GiB", "blockSize"},
	    {"azure://abc/p?blockSize=8XB", "blockSize"},
	    {"azure://abc/p?blockSize=-8MiB", "blockSize"},
	    {"azure://abc/p?blockSize=99999999999999999999", "blockSize"},
	    {"azure://abc/p?parallel=0", "parallel"},
	    {"azure://abc/p?parallel=17", "parallel"},
	    {"azure://abc/p?parallel=2x", "parallel"},
	    {"azure://abc/p?retries=0", "retries"},
	    {"azure://abc/p?sig=abc", "credential"},
	    {"azure://abc/p?SV=2021-08-06", "credential"},
	    {"azure://abc/p?accountKey=abc", "credential"},
	    {"azure://abc/p?colour=blue", "unknown parameter"},
	    {"azure://abc/p?account=%zz", "%-escape"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct azure_url u;
		memset(&u, 0x5a, sizeof(u));
		int rc = azure_url_parse(&u, bad[i].url);
		if (rc != E_INVALID || !strstr(err_msg(), bad[i].says))
			fail_msg("%s: rc %d, message \"%s\", wanted \"%s\"", bad[i].url, rc,
				 err_msg(), bad[i].says);
	}
}

static void conn_parse__reads_every_key(void **state)
{
	(void)state;
	struct azure_conn c;
	assert_int_equal(
	    azure_conn_parse(&c,
			     "DefaultEndpointsProtocol=https; AccountName=acct1;AccountKey=" DEV_KEY
			     ";EndpointSuffix=core.chinacloudapi.cn;"
			     "QueueEndpoint=https://q;BlobEndpoint=https://b.example/x/;"
			     "SharedAccessSignature=?sv=1&sig=a%2Fb="),
	    0);
	assert_string_equal(c.account, "acct1");
	assert_string_equal(c.key, DEV_KEY);
	assert_string_equal(c.protocol, "https");
	assert_string_equal(c.suffix, "core.chinacloudapi.cn");
	assert_string_equal(c.blob_endpoint, "https://b.example/x");
	assert_string_equal(c.sas, "sv=1&sig=a%2Fb=");
	azure_conn_dispose(&c);

	assert_int_equal(azure_conn_parse(&c, "UseDevelopmentStorage=true"), 0);
	assert_string_equal(c.account, "devstoreaccount1");
	assert_string_equal(c.key, DEV_KEY);
	assert_string_equal(c.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
	assert_null(c.sas);
	azure_conn_dispose(&c);

	/* Key names are case-insensitive; values keep their '='. */
	assert_int_equal(azure_conn_parse(&c, "accountname=a2b;accountkey=QUJD=="), 0);
	assert_string_equal(c.account, "a2b");
	assert_string_equal(c.key, "QUJD==");
	azure_conn_dispose(&c);
}

static void conn_parse__rejects_malformed_without_quoting_values(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    ";;",
	    "AccountName",
	    "AccountName=a;AccountKey",
	    "QueueEndpoint=https://q",
	    "AccountName=a;BlobEndpoint=ftp://secret-host",
	    "AccountName=a;DefaultEndpointsProtocol=gopher",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct azure_conn c;
		assert_int_equal(azure_conn_parse(&c, bad[i]), E_INVALID);
		assert_null(strstr(err_msg(), "secret-host"));
	}
}

static void check_account_and_container__names(void **state)
{
	(void)state;
	assert_int_equal(azure_check_account("devstoreaccount1", "x"), 0);
	assert_int_equal(azure_check_account("abc", "x"), 0);
	assert_int_equal(azure_check_account("ab", "x"), E_INVALID);
	assert_int_equal(azure_check_account("abcdefghijklmnopqrstuvwxy", "x"), E_INVALID);
	assert_int_equal(azure_check_account("Abc", "x"), E_INVALID);
	assert_int_equal(azure_check_container("a-b-c", "x"), 0);
	assert_int_equal(azure_check_container("123", "x"), 0);
	assert_int_equal(azure_check_container("a--b", "x"), E_INVALID);
	assert_int_equal(azure_check_container("$root", "x"), E_INVALID);
}

/* --- List Blobs replies --- */

struct seen {
	char names[8][128];
	uint64_t sizes[8];
	int n;
	int stop_at; /* return 7 at this entry (1-based); 0: never */
};

static int on_blob(const char *name, uint64_t size, void *ud)
{
	struct seen *s = ud;
	if (s->n < 8) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->sizes[s->n] = size;
	}
	s->n++;
	return s->stop_at == s->n ? 7 : 0;
}

static const char page[] =
    "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" "
    "ContainerName=\"backups\">\n"
    "  <Prefix>prod/</Prefix><Marker /><MaxResults>2</MaxResults>\n"
    "  <Blobs>\n"
    "    <Blob><Name>prod/default/a/db.dump.zst.pgp</Name>\n"
    "      <Properties><Creation-Time>Sun, 22 Nov 2026 01:11:09 GMT</Creation-Time>"
    "<Content-Length>12345678901</Content-Length><BlobType>BlockBlob</BlobType></Properties>"
    "<OrMetadata /></Blob>\n"
    "    <Blob><Name>prod/default/R&amp;D &lt;x&gt; &#x41;&#66;&#x20AC;/manifest.json</Name>"
    "<Properties><Content-Length>0</Content-Length></Properties></Blob>\n"
    "    <Blob><Name Encoded=\"true\">prod/default/b%20c/x</Name>"
    "<Properties><Content-Length>5</Content-Length></Properties></Blob>\n"
    "  </Blobs>\n"
    "  <NextMarker>2!96!MDAwMDE3IXByb2QvZGVmYXVsdC9i&amp;</NextMarker>\n"
    "</EnumerationResults>";

static void list_parse__names_sizes_entities_and_marker(void **state)
{
	(void)state;
	struct seen s = {0};
	char *marker = NULL;
	assert_int_equal(azure_list_parse(&marker, page, strlen(page), on_blob, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[0], "prod/default/a/db.dump.zst.pgp");
	assert_true(s.sizes[0] == 12345678901ULL);
	assert_string_equal(s.names[1], "prod/default/R&D <x> AB\xe2\x82\xac/manifest.json");
	assert_int_equal(s.sizes[1], 0);
	assert_string_equal(s.names[2], "prod/default/b c/x");
	assert_string_equal(marker, "2!96!MDAwMDE3IXByb2QvZGVmYXVsdC9i&");
	free(marker);
}

static void list_parse__last_page_and_empty_listing(void **state)
{
	(void)state;
	static const char *const docs[] = {
	    "<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>",
	    "<EnumerationResults><Blobs></Blobs><NextMarker></NextMarker></EnumerationResults>",
	    "<EnumerationResults ContainerName=\"c\"><Prefix>x</Prefix></EnumerationResults>",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct seen s = {0};
		char *marker = (char *)"unset";
		assert_int_equal(azure_list_parse(&marker, docs[i], strlen(docs[i]), on_blob, &s),
				 0);
		assert_int_equal(s.n, 0);
		assert_null(marker);
	}
}

static void list_parse__callback_stops_the_walk(void **state)
{
	(void)state;
	struct seen s = {.stop_at = 1};
	char *marker = (char *)"unset";
	assert_int_equal(azure_list_parse(&marker, page, strlen(page), on_blob, &s), 7);
	assert_int_equal(s.n, 1);
	assert_string_equal(marker, "unset"); /* untouched on failure */
}

static void list_parse__rejects_malformed_replies(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "not xml at all",
	    "<Error><Code>X</Code></Error>",
	    "<EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a</Name></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Properties><Content-Length>1</Content-Length>"
	    "</Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>-1"
	    "</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>"
	    "</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>"
	    "99999999999999999999999</Content-Length></Properties></Blob></Blobs>"
	    "</EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a&bogus;</Name><Properties><Content-Length>1"
	    "</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a&#0;</Name><Properties><Content-Length>1"
	    "</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a&#xD800;</Name><Properties><Content-Length>1"
	    "</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a&#x110000;</Name><Properties>"
	    "<Content-Length>1</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a&amp</Name><Properties><Content-Length>1"
	    "</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name></Name><Properties><Content-Length>1"
	    "</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name Encoded=\"true\">a%zz</Name><Properties>"
	    "<Content-Length>1</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>1"
	    "</Content-Length></Properties></Blob></EnumerationResults>",
	    "<EnumerationResults><Blobs></Blobs><NextMarker>x</EnumerationResults>",
	    "<EnumerationResults><Blobs></Blobs><NextMarker>&lt</NextMarker></EnumerationResults>",
	    "<EnumerationResults><Blobs><Blob",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen s = {0};
		char *marker = NULL;
		int rc = azure_list_parse(&marker, bad[i], strlen(bad[i]), on_blob, &s);
		if (rc != E_STORE)
			fail_msg("case %zu: rc %d for %s", i, rc, bad[i]);
		assert_null(marker);
	}
	struct seen s = {0};
	char *marker = NULL;
	assert_int_equal(azure_list_parse(&marker, NULL, 0, on_blob, &s), E_STORE);
}

/* Every prefix of a good reply, in an exactly-sized heap buffer (so ASan
 * sees any read past the end): no crash, no leak, E_STORE or success. */
static void list_parse__every_truncation_is_safe(void **state)
{
	(void)state;
	size_t n = strlen(page);
	for (size_t len = 0; len <= n; len++) {
		char *copy = xmalloc(len ? len : 1);
		memcpy(copy, page, len);
		struct seen s = {0};
		char *marker = NULL;
		int rc = azure_list_parse(&marker, copy, len, on_blob, &s);
		assert_true(rc == 0 || rc == E_STORE);
		free(marker);
		free(copy);
	}
}

static void error_parse__code_and_first_line_of_message(void **state)
{
	(void)state;
	static const char body[] =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
	    "<Message>Server failed to authenticate the request. Make sure the value of "
	    "Authorization header is formed correctly including the signature.\n"
	    "RequestId:5d1a\nTime:2026-11-22T01:11:09.0000000Z</Message>"
	    "<AuthenticationErrorDetail>The MAC signature found in the HTTP request '...' is not "
	    "the same as any computed signature.</AuthenticationErrorDetail></Error>";
	char *code, *msg;
	azure_error_parse(&code, &msg, body, strlen(body));
	assert_string_equal(code, "AuthenticationFailed");
	assert_string_equal(msg, "Server failed to authenticate the request. Make sure the value "
				 "of Authorization header is formed correctly including the "
				 "signature.");
	free(code);
	free(msg);

	static const char *const none[] = {"", "<html>502 Bad Gateway</html>", "<Error><Code>",
					   "<Error><Code></Code></Error>"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		azure_error_parse(&code, &msg, none[i], strlen(none[i]));
		assert_null(code);
		assert_null(msg);
	}
	azure_error_parse(&code, &msg, NULL, 0);
	assert_null(code);
}

static void xml_text__first_element_decoded(void **state)
{
	(void)state;
	static const char x[] = "<a><NameX>no</NameX><Name attr=\"1\">a&quot;b&apos;</Name></a>";
	char *t = azure_xml_text(x, strlen(x), "Name");
	assert_string_equal(t, "a\"b'");
	free(t);
	assert_null(azure_xml_text(x, strlen(x), "Missing"));
}

/* --- opening (no network) --- */

static void clear_env(void)
{
	static const char *const vars[] = {"AZURE_STORAGE_KEY",
					   "AZURE_STORAGE_KEY_FILE",
					   "AZURE_STORAGE_SAS_TOKEN",
					   "AZURE_STORAGE_SAS_TOKEN_FILE",
					   "AZURE_STORAGE_CONNECTION_STRING",
					   "AZURE_STORAGE_CONNECTION_STRING_FILE",
					   "AZURE_STORAGE_ACCOUNT"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void open__needs_credentials_and_an_account(void **state)
{
	(void)state;
	struct store *st = NULL;
	clear_env();
	assert_int_equal(store_open(&st, "azure://backups/p?account=acct1"), E_INVALID);
	assert_non_null(strstr(err_msg(), "AZURE_STORAGE_KEY"));
	setenv("AZURE_STORAGE_KEY", DEV_KEY, 1);
	assert_int_equal(store_open(&st, "azure://backups/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "account=NAME"));
	setenv("AZURE_STORAGE_KEY", "not base64!", 1);
	assert_int_equal(store_open(&st, "azure://backups/p?account=acct1"), E_INVALID);
	assert_non_null(strstr(err_msg(), "not valid base64"));
	assert_null(strstr(err_msg(), "not base64!"));
	unsetenv("AZURE_STORAGE_KEY");
	setenv("AZURE_STORAGE_SAS_TOKEN", "sv=2021-08-06&sp=r", 1);
	assert_int_equal(store_open(&st, "azure://backups/p?account=acct1"), E_INVALID);
	assert_non_null(strstr(err_msg(), "sig="));
	setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=other;AccountKey=" DEV_KEY, 1);
	assert_int_equal(store_open(&st, "azure://backups/p?account=acct1"), E_INVALID);
	assert_non_null(strstr(err_msg(), "use one account"));
	setenv("AZURE_STORAGE_CONNECTION_STRING", "garbage", 1);
	assert_int_equal(store_open(&st, "azure://backups/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "AZURE_STORAGE_CONNECTION_STRING"));
	setenv("AZURE_STORAGE_CONNECTION_STRING_FILE", "/nonexistent/conn", 1);
	unsetenv("AZURE_STORAGE_CONNECTION_STRING");
	assert_int_equal(store_open(&st, "azure://backups/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "/nonexistent/conn"));
	clear_env();
	assert_null(st);
}

static void open__locations_never_hold_credentials(void **state)
{
	(void)state;
	struct store *st = NULL;
	clear_env();
	setenv("AZURE_STORAGE_SAS_TOKEN", "?sv=2021-08-06&sp=rwdl&sig=SECRETSIG%3D", 1);
	assert_int_equal(store_open(&st, "azure://backups/prod/?account=acct1&blockSize=4MiB"), 0);
	char *loc = store_location(st, "default/n/db.dump.zst.pgp");
	assert_string_equal(loc, "azure://backups/prod/default/n/db.dump.zst.pgp");
	free(loc);
	assert_string_equal(st->display, "azure://backups/prod");
	store_free(st);
	st = NULL;

	clear_env();
	setenv("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true", 1);
	assert_int_equal(store_open(&st, "azure://backups"), 0);
	loc = store_location(st, "ns/n/manifest.json");
	assert_string_equal(loc, "azure://backups/ns/n/manifest.json");
	free(loc);
	store_free(st);
	clear_env();
}

static void open__key_from_a_file(void **state)
{
	(void)state;
	char path[] = "/tmp/lifeboat-test-azkey-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "%s\r\nsecond line\n", DEV_KEY);
	fclose(f);
	clear_env();
	setenv("AZURE_STORAGE_KEY_FILE", path, 1);
	setenv("AZURE_STORAGE_ACCOUNT", "acct1", 1);
	struct store *st = NULL;
	assert_int_equal(store_open(&st, "azure://backups/p"), 0);
	store_free(st);
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(store_open(&st, "azure://backups/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "empty"));
	unlink(path);
	clear_env();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sign__put_block_matches_python_vector),
	    cmocka_unit_test(sign__list_with_repeated_params_range_and_if_match),
	    cmocka_unit_test(sign__zero_content_length_is_empty),
	    cmocka_unit_test(sign__different_key_gives_different_signature),
	    cmocka_unit_test(sign__rejects_a_bad_query_escape),
	    cmocka_unit_test(sign__empty_path_and_query_segments),
	    cmocka_unit_test(base64__round_trips_and_pads),
	    cmocka_unit_test(base64_decode__rejects_malformed),
	    cmocka_unit_test(block_id__base64_of_six_digits_all_one_length),
	    cmocka_unit_test(block_list_xml__lists_every_block_in_order),
	    cmocka_unit_test(content_md5__is_base64_md5),
	    cmocka_unit_test(http_date__rfc1123_gmt),
	    cmocka_unit_test(escape__keeps_unreserved_and_optionally_slash),
	    cmocka_unit_test(url_parse__defaults_and_parameters),
	    cmocka_unit_test(url_parse__rejects_bad_urls_naming_the_part),
	    cmocka_unit_test(conn_parse__reads_every_key),
	    cmocka_unit_test(conn_parse__rejects_malformed_without_quoting_values),
	    cmocka_unit_test(check_account_and_container__names),
	    cmocka_unit_test(list_parse__names_sizes_entities_and_marker),
	    cmocka_unit_test(list_parse__last_page_and_empty_listing),
	    cmocka_unit_test(list_parse__callback_stops_the_walk),
	    cmocka_unit_test(list_parse__rejects_malformed_replies),
	    cmocka_unit_test(list_parse__every_truncation_is_safe),
	    cmocka_unit_test(error_parse__code_and_first_line_of_message),
	    cmocka_unit_test(xml_text__first_element_decoded),
	    cmocka_unit_test(open__needs_credentials_and_an_account),
	    cmocka_unit_test(open__locations_never_hold_credentials),
	    cmocka_unit_test(open__key_from_a_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
