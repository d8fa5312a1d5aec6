/* Tests for job/store/s3.c (s3:// and gs:// URLs, request paths, the credentials
 * file, the XML extractor) and store_open of the S3 backend (no requests). */
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
#include "common/xmalloc.h"
#include "job/store/s3.h"
#include "job/store/store.h"

static void parse_ok(struct s3_config *c, const char *url)
{
	int rc = s3_config_parse(c, url, NULL);
	if (rc)
		fail_msg("%s: %s", url, err_msg());
}

static void config__aws_defaults_to_virtual_hosted_style(void **state)
{
	(void)state;
	struct s3_config c;
	parse_ok(&c, "s3://my-bucket/backups/prod/");
	assert_string_equal(c.bucket, "my-bucket");
	assert_string_equal(c.prefix, "backups/prod");
	assert_string_equal(c.region, "us-east-1");
	assert_string_equal(c.endpoint, "https://s3.us-east-1.amazonaws.com");
	assert_true(c.virtual_style);
	assert_string_equal(c.host, "my-bucket.s3.us-east-1.amazonaws.com");
	assert_int_equal(c.part_size, 8 * 1024 * 1024);
	assert_int_equal(c.in_flight, 2);
	char *p = s3_config_path(&c, "backups/prod/ns/n/manifest.json");
	assert_string_equal(p, "/backups/prod/ns/n/manifest.json");
	free(p);
	p = s3_config_path(&c, NULL);
	assert_string_equal(p, "/");
	free(p);
	s3_config_dispose(&c);
}

static void config__region_from_url_or_environment(void **state)
{
	(void)state;
	struct s3_config c;
	assert_int_equal(s3_config_parse(&c, "s3://b-1/p", "eu-central-1"), 0);
	assert_string_equal(c.region, "eu-central-1");
	assert_string_equal(c.endpoint, "https://s3.eu-central-1.amazonaws.com");
	s3_config_dispose(&c);
	assert_int_equal(s3_config_parse(&c, "s3://b-1/p?region=ap-south-1", "eu-central-1"), 0);
	assert_string_equal(c.region, "ap-south-1");
	s3_config_dispose(&c);
}

static void config__custom_endpoint_defaults_to_path_style(void **state)
{
	(void)state;
	struct s3_config c;
	parse_ok(
	    &c,
	    "s3://bkt/pre fix+plus?endpoint=http%3A%2F%2F127.0.0.1:9000&region=auto&"
	    "partSize=5MiB&inFlight=4&sse=aws:kms&kmsKeyId=arn:aws:kms:x&storageClass=STANDARD_IA"
	    "&maxAttempts=3&stallTimeout=5s&maxKeys=2&caBundle=/etc/ca.pem");
	assert_string_equal(c.endpoint, "http://127.0.0.1:9000");
	assert_string_equal(c.host, "127.0.0.1:9000");
	assert_false(c.virtual_style);
	assert_string_equal(c.prefix, "pre fix+plus");
	assert_int_equal(c.part_size, 5 * 1024 * 1024);
	assert_int_equal(c.in_flight, 4);
	assert_string_equal(c.sse, "aws:kms");
	assert_string_equal(c.kms_key_id, "arn:aws:kms:x");
	assert_string_equal(c.storage_class, "STANDARD_IA");
	assert_int_equal(c.max_attempts, 3);
	assert_int_equal(c.stall_seconds, 5);
	assert_int_equal(c.max_keys, 2);
	assert_string_equal(c.ca_bundle, "/etc/ca.pem");
	char *k = s3_config_object_key(&c, "ns/n/db.dump");
	assert_string_equal(k, "pre fix+plus/ns/n/db.dump");
	char *p = s3_config_path(&c, k);
	assert_string_equal(p, "/bkt/pre%20fix%2Bplus/ns/n/db.dump");
	free(p);
	free(k);
	char *d = s3_config_display(&c);
	assert_string_equal(d, "s3://bkt/pre fix+plus");
	free(d);
	s3_config_dispose(&c);
}

static void config__style_can_be_forced(void **state)
{
	(void)state;
	struct s3_config c;
	parse_ok(&c, "s3://bkt?endpoint=https://minio.example:9000/&style=virtual");
	assert_true(c.virtual_style);
	assert_string_equal(c.host, "bkt.minio.example:9000");
	assert_string_equal(c.prefix, "");
	char *p = s3_config_path(&c, "ns/n/x");
	assert_string_equal(p, "/ns/n/x");
	free(p);
	s3_config_dispose(&c);
	/* A dotted bucket on AWS falls back to path style (TLS wildcard). */
	parse_ok(&c, "s3://my.dotted.bucket/x");
	assert_false(c.virtual_style);
	assert_string_equal(c.host, "s3.us-east-1.amazonaws.com");
	p = s3_config_path(&c, NULL);
	assert_string_equal(p, "/my.dotted.bucket");
	free(p);
	s3_config_dispose(&c);
}

static void config__gs_uses_the_gcs_xml_api(void **state)
{
	(void)state;
	struct s3_config c;
	parse_ok(&c, "gs://my_gcs_bucket/lifeboat");
	assert_string_equal(c.scheme, "gs");
	assert_string_equal(c.endpoint, "https://storage.googleapis.com");
	assert_string_equal(c.region, "auto");
	assert_false(c.virtual_style);
	char *d = s3_config_display(&c);
	assert_string_equal(d, "gs://my_gcs_bucket/lifeboat");
	free(d);
	s3_config_dispose(&c);
}

static void config__bad_urls_are_invalid_and_say_why(void **state)
{
	(void)state;
	static const struct {
		const char *url;
		const char *why;
	} cases[] = {
	    {"s3:/bucket", "expected s3://BUCKET"},
	    {"azure://x/y", "expected s3://BUCKET"},
	    {"s3://", "bucket \"\""},
	    {"s3://ab/x", "bucket \"ab\""},
	    {"s3://Upper/x", "bucket \"Upper\""},
	    {"s3://-bkt/x", "not a valid bucket name"},
	    {"s3://AKIA:secret@bkt/x", "credentials do not belong in the URL"},
	    {"s3://bkt/a//b", "empty segment"},
	    {"s3://bkt/x#frag", "\"#\""},
	    {"s3://bkt/x?endpoint=ftp://h", "must start with https://"},
	    {"s3://bkt/x?endpoint=https://h/path", "without a path"},
	    {"s3://bkt/x?endpoint=https://u:p@h", "user:password@"},
	    {"s3://bkt/x?endpoint=https://", "needs a host"},
	    {"s3://bkt/x?style=sideways", "style \"sideways\" must be path or virtual"},
	    {"s3://bkt/x?partSize=1MiB", "partSize 1MiB is outside 5MiB..5GiB"},
	    {"s3://bkt/x?partSize=6GiB", "outside 5MiB..5GiB"},
	    {"s3://bkt/x?partSize=lots", "partSize"},
	    {"s3://bkt/x?inFlight=0", "inFlight \"0\" must be 1..16"},
	    {"s3://bkt/x?inFlight=2x", "inFlight"},
	    {"s3://bkt/x?sse=rot13", "sse \"rot13\" must be AES256 or aws:kms"},
	    {"s3://bkt/x?kmsKeyId=k", "kmsKeyId needs sse=aws:kms"},
	    {"s3://bkt/x?region=us/east", "region \"us/east\""},
	    {"s3://bkt/x?region=", "region is empty"},
	    {"s3://bkt/x?maxKeys=5000", "maxKeys"},
	    {"s3://bkt/x?stallTimeout=0", "stallTimeout"},
	    {"s3://bkt/x?secretKey=hunter2", "unknown parameter \"secretKey\""},
	    {"s3://bkt/x?region=a&region=b", "given twice"},
	    {"s3://bkt/x?region", "has no value"},
	    {"s3://bkt/x?region=%zz", "bad %-escape"},
	    {"s3://bkt/x?region=a%00b", "bad %-escape"},
	    {"s3://bkt/x\x01y", "control character"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct s3_config c;
		int rc = s3_config_parse(&c, cases[i].url, NULL);
		if (rc != E_INVALID)
			fail_msg("%s: rc %d, wanted E_INVALID", cases[i].url, rc);
		if (!strstr(err_msg(), cases[i].why))
			fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].url, err_msg(),
				 cases[i].why);
		/* A value given for an unknown parameter is never echoed. */
		assert_null(strstr(err_msg(), "hunter2"));
		assert_null(strstr(err_msg(), "secret@"));
	}
}

static void parse_size__units(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(s3_parse_size(&v, "5MiB"), 0);
	assert_int_equal(v, 5 * 1024 * 1024);
	assert_int_equal(s3_parse_size(&v, "16 MiB"), 0);
	assert_int_equal(v, 16 * 1024 * 1024);
	assert_int_equal(s3_parse_size(&v, "8388608"), 0);
	assert_int_equal(v, 8388608);
	assert_int_equal(s3_parse_size(&v, "1GiB"), 0);
	assert_int_equal(v, 1024ull * 1024 * 1024);
	assert_int_equal(s3_parse_size(&v, "10MB"), 0);
	assert_int_equal(v, 10000000);
	assert_int_equal(s3_parse_size(&v, ""), E_INVALID);
	assert_int_equal(s3_parse_size(&v, "-5MiB"), E_INVALID);
	assert_int_equal(s3_parse_size(&v, "5 parsecs"), E_INVALID);
	assert_int_equal(s3_parse_size(&v, "99999999999999999999GiB"), E_INVALID);
	assert_int_equal(s3_parse_size(&v, "20000000000GiB"), E_INVALID);
}

static void credentials__reads_the_profile(void **state)
{
	(void)state;
	static const char text[] =
	    "# comment\n[default]\naws_access_key_id = AKDEFAULT\n"
	    "aws_secret_access_key=SECRETDEFAULT\r\n\n[backup]\n"
	    "; another comment\naws_access_key_id=AKBACKUP\n"
	    "  aws_secret_access_key = sec/ret+=  \naws_session_token = TOK\n"
	    "region = eu-west-1\n[other]\naws_access_key_id = NOPE\n";
	struct s3_credentials c;
	assert_int_equal(s3_credentials_parse(&c, text, "default"), 0);
	assert_string_equal(c.access_key, "AKDEFAULT");
	assert_string_equal(c.secret_key, "SECRETDEFAULT");
	assert_null(c.session_token);
	s3_credentials_dispose(&c);
	assert_int_equal(s3_credentials_parse(&c, text, "backup"), 0);
	assert_string_equal(c.access_key, "AKBACKUP");
	assert_string_equal(c.secret_key, "sec/ret+=");
	assert_string_equal(c.session_token, "TOK");
	s3_credentials_dispose(&c);
	assert_int_equal(s3_credentials_parse(&c, text, "other"), E_NOTFOUND);
	assert_int_equal(s3_credentials_parse(&c, text, "missing"), E_NOTFOUND);
	assert_int_equal(s3_credentials_parse(&c, "", "default"), E_NOTFOUND);
	assert_int_equal(s3_credentials_parse(&c, "[default\naws_access_key_id=x\n", "default"),
			 E_NOTFOUND);
	assert_null(strstr(err_msg(), "x"));
}

static void xml__extracts_list_entries(void **state)
{
	(void)state;
	static const char xml[] =
	    "<?xml version=\"1.0\"?><ListBucketResult "
	    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Name>b</Name><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
	    "<Contents><Key>p/a&amp;b &lt;c&gt; &quot;d&quot; "
	    "&apos;e&apos;</Key><Size>12</Size></Contents>"
	    "<Contents>\n  <Key>p/&#252;&#x20AC;</Key>\n  <Size>0</Size>\n</Contents>"
	    "<NextContinuationToken>1ue/+x==</NextContinuationToken></ListBucketResult>";
	size_t pos = 0;
	struct s3_span item;
	assert_true(s3_xml_next(xml, strlen(xml), &pos, "Contents", &item));
	char *k = s3_xml_text(item, "Key"), *s = s3_xml_text(item, "Size");
	assert_string_equal(k, "p/a&b <c> \"d\" 'e'");
	assert_string_equal(s, "12");
	free(k);
	free(s);
	assert_true(s3_xml_next(xml, strlen(xml), &pos, "Contents", &item));
	k = s3_xml_text(item, "Key");
	assert_string_equal(k, "p/\xc3\xbc\xe2\x82\xac");
	free(k);
	assert_false(s3_xml_next(xml, strlen(xml), &pos, "Contents", &item));
	struct s3_span all = {xml, strlen(xml)};
	/* <Key> must not match <KeyCount>. */
	char *first = s3_xml_text(all, "Key");
	assert_string_equal(first, "p/a&b <c> \"d\" 'e'");
	free(first);
	char *t = s3_xml_text(all, "NextContinuationToken");
	assert_string_equal(t, "1ue/+x==");
	free(t);
	t = s3_xml_text(all, "IsTruncated");
	assert_string_equal(t, "true");
	free(t);
	assert_null(s3_xml_text(all, "UploadId"));
}

static void xml__error_body_and_upload_id(void **state)
{
	(void)state;
	static const char err[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
	    "SignatureDoesNotMatch</Code><Message>The request signature we "
	    "calculated does not match</Message><StringToSign>x</StringToSign>"
	    "</Error>";
	struct s3_span e = {err, strlen(err)};
	char *c = s3_xml_text(e, "Code"), *m = s3_xml_text(e, "Message");
	assert_string_equal(c, "SignatureDoesNotMatch");
	assert_string_equal(m, "The request signature we calculated does not match");
	free(c);
	free(m);
	static const char up[] = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
				 "<UploadId attr=\"1\"><![CDATA[VXBsb2Fk<&>]]></UploadId>"
				 "<ETag/></InitiateMultipartUploadResult>";
	struct s3_span u = {up, strlen(up)};
	char *id = s3_xml_text(u, "UploadId");
	assert_string_equal(id, "VXBsb2Fk<&>");
	free(id);
	char *etag = s3_xml_text(u, "ETag");
	assert_string_equal(etag, "");
	free(etag);
}

static void xml__malformed_input_never_crashes(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "<",
	    "<Key",
	    "<Key>",
	    "<Key>unterminated",
	    "<Key>a</Ke",
	    "</Key><Key",
	    "<Key/",
	    "<Key>&#;&#x;&#xZZ;&#99999999999;&#0;&#xD800;&bogus;&amp</Key>",
	    "<Key><![CDATA[never closed</Key>",
	    "<Contents><Key>a</Key>",
	    "<<<<>>>></Key></Key>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);
		/* A copy of exactly n bytes: ASan catches any read past it. */
		char *copy = xmalloc(n ? n : 1);
		memcpy(copy, bad[i], n);
		struct s3_span sp = {copy, n};
		char *v = s3_xml_text(sp, "Key");
		free(v);
		size_t pos = 0;
		struct s3_span item;
		while (s3_xml_next(copy, n, &pos, "Contents", &item))
			;
		free(copy);
	}
	/* What the entity decoder keeps when it cannot decode. */
	static const char ents[] = "&#;&#x;&#xZZ;&#99999999999;&#0;&#xD800;&bogus;&amp";
	char *d = s3_xml_decode(ents, strlen(ents));
	assert_string_equal(d, ents);
	free(d);
	static const char unclosed[] = "<Key>abc";
	struct s3_span sp = {unclosed, strlen(unclosed)};
	assert_null(s3_xml_text(sp, "Key"));
}

static void xml__escape(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(s3_xml_escape(&b, "\"etag\" & <x> 'y'"), 0);
	assert_string_equal(buf_str(&b), "&quot;etag&quot; &amp; &lt;x&gt; &apos;y&apos;");
	char *back = s3_xml_decode(b.ptr, b.len);
	assert_string_equal(back, "\"etag\" & <x> 'y'");
	free(back);
	buf_dispose(&b);
}

static void store_open__s3_location_never_holds_credentials(void **state)
{
	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDSECRETID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "verysecretkey", 1);
	setenv("AWS_SESSION_TOKEN", "sessiontoken", 1);
	unsetenv("AWS_CA_BUNDLE");
	struct store *st = NULL;
	assert_int_equal(
	    store_open(&st, "s3://bkt/pre?endpoint=http://127.0.0.1:1&region=eu-west-1"), 0);
	char *loc = store_location(st, "ns/n/manifest.json");
	assert_string_equal(loc, "s3://bkt/pre/ns/n/manifest.json");
	free(loc);
	store_free(st);
	assert_int_equal(store_open(&st, "gs://bkt"), 0);
	loc = store_location(st, "ns/n/db.dump");
	assert_string_equal(loc, "gs://bkt/ns/n/db.dump");
	free(loc);
	store_free(st);
	unsetenv("AWS_SESSION_TOKEN");
}

static void store_open__needs_both_keys(void **state)
{
	(void)state;
	struct store *st = NULL;
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(store_open(&st, "s3://bkt/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "AWS_SECRET_ACCESS_KEY is not"));
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	assert_int_equal(store_open(&st, "s3://bkt/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "/nonexistent/credentials"));
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	setenv("HOME", "/nonexistent", 1);
	assert_int_equal(store_open(&st, "s3://bkt/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "needs credentials"));
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "x", 1);
	setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
	assert_int_equal(store_open(&st, "s3://bkt/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "CA bundle /nonexistent/ca.pem"));
	unsetenv("AWS_CA_BUNDLE");
	assert_null(st);
}

static void store_open__credentials_file(void **state)
{
	(void)state;
	char path[] = "/tmp/lifeboat-test-cred-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char text[] =
	    "[nightly]\naws_access_key_id = AKFILE\naws_secret_access_key = S\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_CA_BUNDLE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	setenv("AWS_PROFILE", "nightly", 1);
	struct store *st = NULL;
	assert_int_equal(store_open(&st, "s3://bkt/p"), 0);
	store_free(st);
	setenv("AWS_PROFILE", "weekly", 1);
	assert_int_equal(store_open(&st, "s3://bkt/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "[weekly]"));
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(config__aws_defaults_to_virtual_hosted_style),
	    cmocka_unit_test(config__region_from_url_or_environment),
	    cmocka_unit_test(config__custom_endpoint_defaults_to_path_style),
	    cmocka_unit_test(config__style_can_be_forced),
	    cmocka_unit_test(config__gs_uses_the_gcs_xml_api),
	    cmocka_unit_test(config__bad_urls_are_invalid_and_say_why),
	    cmocka_unit_test(parse_size__units),
	    cmocka_unit_test(credentials__reads_the_profile),
	    cmocka_unit_test(xml__extracts_list_entries),
	    cmocka_unit_test(xml__error_body_and_upload_id),
	    cmocka_unit_test(xml__malformed_input_never_crashes),
	    cmocka_unit_test(xml__escape),
	    cmocka_unit_test(store_open__s3_location_never_holds_credentials),
	    cmocka_unit_test(store_open__needs_both_keys),
	    cmocka_unit_test(store_open__credentials_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
