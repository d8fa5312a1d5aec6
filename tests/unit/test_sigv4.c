/* Tests for job/store/sigv4.c against AWS's published vectors: the SigV4 test
 * suite (2015-08-30, AKIDEXAMPLE, service "service") and the S3 API
 * reference's "Signature Calculations" examples (2013-05-24, examplebucket).
 * Edge cases beyond them carry signatures computed by botocore 1.29
 * (Debian's python3-botocore), the reference implementation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "job/store/sigv4.h"

#define SUITE_DATE "20150830T123600Z"
#define S3_DATE "20130524T000000Z"
#define EMPTY SIGV4_EMPTY_SHA256

static const struct sigv4_credentials suite_cred = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
static const struct sigv4_credentials s3_cred = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};

static char *authz(const struct sigv4_request *r, const struct sigv4_credentials *c,
		   const char *date)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(sigv4_authorization(&b, r, c, date), 0);
	return buf_take(&b);
}

static char *creq(const struct sigv4_request *r)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(sigv4_canonical_request(&b, r), 0);
	return buf_take(&b);
}

static void assert_signature(const char *auth, const char *sig)
{
	const char *s = strstr(auth, "Signature=");
	assert_non_null(s);
	assert_string_equal(s + strlen("Signature="), sig);
}

static const struct sigv4_header suite_headers[] = {{"Host", "example.amazonaws.com"},
						    {"X-Amz-Date", SUITE_DATE}};

static void suite_get(const struct sigv4_param *q, size_t nq, const char *sig)
{
	struct sigv4_request r = {"GET", "/", q, nq, suite_headers, 2, EMPTY};
	char *a = authz(&r, &suite_cred, SUITE_DATE);
	assert_signature(a, sig);
	free(a);
}

static void suite__get_vanilla(void **state)
{
	(void)state;
	struct sigv4_request r = {"GET", "/", NULL, 0, suite_headers, 2, EMPTY};
	char *c = creq(&r);
	assert_string_equal(c,
			    "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
			    "host;x-amz-date\n" EMPTY);
	struct buf sts;
	buf_init(&sts, 4096);
	assert_int_equal(
	    sigv4_string_to_sign(&sts, SUITE_DATE, "20150830/us-east-1/service/aws4_request", c),
	    0);
	assert_string_equal(buf_str(&sts),
			    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/"
			    "service/aws4_request\n"
			    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
	buf_dispose(&sts);
	char *a = authz(&r, &suite_cred, SUITE_DATE);
	assert_string_equal(
	    a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
	       "aws4_request, SignedHeaders=host;x-amz-date, "
	       "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	free(a);
	free(c);
}

static void suite__get_vanilla_query_order_key(void **state)
{
	(void)state;
	/* ?Param1=value2&Param1=value1: repeated names sort by value. */
	struct sigv4_param q[] = {{"Param1", "value2"}, {"Param1", "value1"}};
	suite_get(q, 2, "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
}

static void suite__get_vanilla_query_order_key_case(void **state)
{
	(void)state;
	struct sigv4_param q[] = {{"Param2", "value2"}, {"Param1", "value1"}};
	suite_get(q, 2, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

static void suite__get_vanilla_query_order_value(void **state)
{
	(void)state;
	/* Uppercase sorts before lowercase: byte order, not locale order. */
	struct sigv4_param q[] = {{"Param1", "value2"}, {"Param1", "Value1"}};
	suite_get(q, 2, "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
}

static void suite__get_vanilla_query_unreserved(void **state)
{
	(void)state;
	static const char u[] =
	    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	struct sigv4_param q[] = {{u, u}};
	suite_get(q, 1, "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

static void suite__get_vanilla_utf8_query(void **state)
{
	(void)state;
	struct sigv4_param q[] = {{"\xe1\x88\xb4", "bar"}};
	suite_get(q, 1, "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
}

static void suite__post_x_www_form_urlencoded(void **state)
{
	(void)state;
	static const char body[] = "Param1=value1";
	char hash[65];
	sigv4_sha256_hex(hash, body, strlen(body));
	assert_string_equal(hash,
			    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
	struct sigv4_header h[] = {{"Content-Type", "application/x-www-form-urlencoded"},
				   {"Host", "example.amazonaws.com"},
				   {"X-Amz-Date", SUITE_DATE}};
	struct sigv4_request r = {"POST", "/", NULL, 0, h, 3, hash};
	char *c = creq(&r);
	assert_string_equal(
	    c, "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example."
	       "amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-"
	       "date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
	char *a = authz(&r, &suite_cred, SUITE_DATE);
	assert_string_equal(
	    a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
	       "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
	       "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
	free(a);
	free(c);
}

static void signing_key__matches_the_documented_example(void **state)
{
	(void)state;
	/* AWS's "derive a signing key" example (IAM, 2015-08-30). */
	uint8_t k[32];
	char hex[65];
	sigv4_signing_key(k, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1",
			  "iam");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", k[i]);
	assert_string_equal(hex,
			    "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

static void s3_example__get_object_with_range(void **state)
{
	(void)state;
	struct sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
				   {"Range", "bytes=0-9"},
				   {"x-amz-content-sha256", EMPTY},
				   {"x-amz-date", S3_DATE}};
	struct sigv4_request r = {"GET", "/test.txt", NULL, 0, h, 4, EMPTY};
	char *c = creq(&r);
	struct buf sts;
	buf_init(&sts, 4096);
	assert_int_equal(
	    sigv4_string_to_sign(&sts, S3_DATE, "20130524/us-east-1/s3/aws4_request", c), 0);
	assert_string_equal(buf_str(&sts),
			    "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/"
			    "aws4_request\n"
			    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	buf_dispose(&sts);
	char *a = authz(&r, &s3_cred, S3_DATE);
	assert_string_equal(
	    a, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
	       "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	       "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	free(a);
	free(c);
}

static void s3_example__put_object_key_with_dollar(void **state)
{
	(void)state;
	static const char body[] = "Welcome to Amazon S3.";
	char hash[65];
	sigv4_sha256_hex(hash, body, strlen(body));
	assert_string_equal(hash,
			    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	struct buf path;
	buf_init(&path, 4096);
	assert_int_equal(sigv4_uri_encode(&path, "/test$file.text", 15, 1), 0);
	assert_string_equal(buf_str(&path), "/test%24file.text");
	struct sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
				   {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
				   {"x-amz-date", S3_DATE},
				   {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
				   {"x-amz-content-sha256", hash}};
	struct sigv4_request r = {"PUT", buf_str(&path), NULL, 0, h, 5, hash};
	char *c = creq(&r);
	char ch[65];
	sigv4_sha256_hex(ch, c, strlen(c));
	assert_string_equal(ch, "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
	char *a = authz(&r, &s3_cred, S3_DATE);
	assert_true(strstr(
	    a, "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"));
	assert_signature(a, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	free(a);
	free(c);
	buf_dispose(&path);
}

static const struct sigv4_header s3_get_headers[] = {{"Host", "examplebucket.s3.amazonaws.com"},
						     {"x-amz-content-sha256", EMPTY},
						     {"x-amz-date", S3_DATE}};

static void s3_example__get_bucket_lifecycle(void **state)
{
	(void)state;
	/* "?lifecycle": a parameter without a value is signed as "lifecycle=". */
	struct sigv4_param q[] = {{"lifecycle", NULL}};
	struct sigv4_request r = {"GET", "/", q, 1, s3_get_headers, 3, EMPTY};
	char *c = creq(&r);
	assert_non_null(strstr(c, "\nlifecycle=\n"));
	char *a = authz(&r, &s3_cred, S3_DATE);
	assert_signature(a, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	free(a);
	free(c);
}

static void s3_example__list_objects(void **state)
{
	(void)state;
	struct sigv4_param q[] = {{"prefix", "J"}, {"max-keys", "2"}};
	struct sigv4_request r = {"GET", "/", q, 2, s3_get_headers, 3, EMPTY};
	char *c = creq(&r);
	assert_non_null(strstr(c, "\nmax-keys=2&prefix=J\n"));
	char *a = authz(&r, &s3_cred, S3_DATE);
	assert_signature(a, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	free(a);
	free(c);
}

static void botocore__upload_part_with_token_and_special_key(void **state)
{
	(void)state;
	/* The shape lifeboat sends for a part: an encoded key with a space, a
	 * plus and UTF-8, a sorted query whose value needs encoding, and a
	 * session token. Signature from botocore's S3SigV4Auth. */
	struct buf path;
	buf_init(&path, 4096);
	const char *key = "/bkt/pre fix+x/\xc3\xbc/db.dump";
	assert_int_equal(sigv4_uri_encode(&path, key, strlen(key), 1), 0);
	assert_string_equal(buf_str(&path), "/bkt/pre%20fix%2Bx/%C3%BC/db.dump");
	struct sigv4_param q[] = {{"uploadId", "a+b/c="}, {"partNumber", "3"}};
	struct sigv4_header h[] = {{"host", "127.0.0.1:9000"},
				   {"x-amz-date", "20261122T010203Z"},
				   {"x-amz-content-sha256", EMPTY},
				   {"x-amz-security-token", "TOKEN/with+chars="}};
	struct sigv4_request r = {"PUT", buf_str(&path), q, 2, h, 4, EMPTY};
	struct sigv4_credentials cr = {
	    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "eu-west-1", "s3"};
	char *c = creq(&r);
	assert_string_equal(
	    c, "PUT\n/bkt/pre%20fix%2Bx/%C3%BC/db.dump\npartNumber=3&uploadId=a%2Bb%2Fc%"
	       "3D\nhost:127.0.0.1:9000\nx-amz-content-sha256:" EMPTY
	       "\nx-amz-date:20261122T010203Z\nx-amz-security-token:TOKEN/with+chars=\n\n"
	       "host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n" EMPTY);
	char *a = authz(&r, &cr, "20261122T010203Z");
	assert_signature(a, "722bbd2b8cbf96f73ecddaf6f0798fa9daae0a74d6b9075e55acd674e922bc0d");
	free(a);
	free(c);
	buf_dispose(&path);
}

static void botocore__header_values_trimmed_and_squeezed(void **state)
{
	(void)state;
	struct sigv4_header h[] = {{"Host", "example.amazonaws.com"},
				   {"My-Header1", " value1"},
				   {"My-Header2", " \"a   b   c\""},
				   {"X-Amz-Date", SUITE_DATE}};
	struct sigv4_request r = {"GET", "/", NULL, 0, h, 4, EMPTY};
	char *c = creq(&r);
	assert_non_null(strstr(c, "\nmy-header1:value1\nmy-header2:\"a b c\"\n"));
	char *a = authz(&r, &suite_cred, SUITE_DATE);
	assert_signature(a, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
	free(a);
	free(c);
}

static void canonical__empty_query_is_an_empty_line(void **state)
{
	(void)state;
	struct sigv4_request r = {"GET", "", NULL, 0, suite_headers, 2, EMPTY};
	char *c = creq(&r);
	/* An empty path is "/". */
	assert_true(strncmp(c, "GET\n/\n\nhost:", 12) == 0);
	free(c);
}

static void canonical__repeated_headers_are_joined_in_order(void **state)
{
	(void)state;
	struct sigv4_header h[] = {{"My-Header1", "value2"},
				   {"Host", "example.amazonaws.com"},
				   {"my-header1", "value1"},
				   {"X-Amz-Date", SUITE_DATE}};
	struct sigv4_request r = {"GET", "/", NULL, 0, h, 4, EMPTY};
	char *c = creq(&r);
	assert_non_null(strstr(c, "\nmy-header1:value2,value1\n"));
	assert_non_null(strstr(c, "\nhost;my-header1;x-amz-date\n"));
	free(c);
}

static void uri_encode__keeps_unreserved_and_encodes_the_rest(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int keep_slash;
		const char *out;
	} cases[] = {
	    {"AZaz09-._~", 0, "AZaz09-._~"},
	    {"a b+c", 0, "a%20b%2Bc"},
	    {"a/b", 1, "a/b"},
	    {"a/b", 0, "a%2Fb"},
	    {"\xc3\xbc\xe2\x82\xac", 1, "%C3%BC%E2%82%AC"},
	    {"!*'();:@&=$,?#[]%", 1, "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D%25"},
	    {"", 0, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b, 4096);
		assert_int_equal(
		    sigv4_uri_encode(&b, cases[i].in, strlen(cases[i].in), cases[i].keep_slash), 0);
		assert_string_equal(buf_str(&b), cases[i].out);
		buf_dispose(&b);
	}
}

static void canonical_query__sorts_encoded_names_then_values(void **state)
{
	(void)state;
	struct sigv4_param q[] = {{"b", "2"},	 {"a", "z"}, {"a", "y"},
				  {"a b", NULL}, {"A", ""},  {"\xc3\xa9", "\xc3\xa9"}};
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(sigv4_canonical_query(&b, q, 6), 0);
	assert_string_equal(buf_str(&b), "%C3%A9=%C3%A9&A=&a=y&a=z&a%20b=&b=2");
	buf_dispose(&b);
}

static void authorization__rejects_bad_input(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	struct sigv4_request r = {"GET", "/", NULL, 0, suite_headers, 2, EMPTY};
	struct sigv4_credentials c = suite_cred;
	assert_int_equal(sigv4_authorization(&b, &r, &c, "2015-08-30T12:36:00Z"), E_INVALID);
	assert_non_null(strstr(err_msg(), "YYYYMMDDTHHMMSSZ"));
	assert_int_equal(sigv4_authorization(&b, &r, &c, NULL), E_INVALID);
	c.secret_key = "";
	assert_int_equal(sigv4_authorization(&b, &r, &c, SUITE_DATE), E_INVALID);
	c = suite_cred;
	c.region = "us/east";
	assert_int_equal(sigv4_authorization(&b, &r, &c, SUITE_DATE), E_INVALID);
	c = suite_cred;
	r.method = NULL;
	assert_int_equal(sigv4_authorization(&b, &r, &c, SUITE_DATE), E_INVALID);
	r.method = "GET";
	r.payload_hash = NULL;
	assert_int_equal(sigv4_authorization(&b, &r, &c, SUITE_DATE), E_INVALID);
	r.payload_hash = EMPTY;
	struct sigv4_header bad[] = {{"Host", "x"}, {"bad header", "v"}};
	r.headers = bad;
	r.nheaders = 2;
	assert_int_equal(sigv4_authorization(&b, &r, &c, SUITE_DATE), E_INVALID);
	assert_non_null(strstr(err_msg(), "bad header"));
	struct sigv4_header noval[] = {{"Host", NULL}};
	r.headers = noval;
	r.nheaders = 1;
	assert_int_equal(sigv4_authorization(&b, &r, &c, SUITE_DATE), E_INVALID);
	assert_int_equal(b.len, 0);
	buf_dispose(&b);
}

static void amz_date__formats_utc(void **state)
{
	(void)state;
	char d[17];
	sigv4_amz_date(d, 0);
	assert_string_equal(d, "19700101T000000Z");
	sigv4_amz_date(d, 1369353600);
	assert_string_equal(d, "20130524T000000Z");
	sigv4_amz_date(d, 1709251199);
	assert_string_equal(d, "20240229T235959Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(suite__get_vanilla),
	    cmocka_unit_test(suite__get_vanilla_query_order_key),
	    cmocka_unit_test(suite__get_vanilla_query_order_key_case),
	    cmocka_unit_test(suite__get_vanilla_query_order_value),
	    cmocka_unit_test(suite__get_vanilla_query_unreserved),
	    cmocka_unit_test(suite__get_vanilla_utf8_query),
	    cmocka_unit_test(suite__post_x_www_form_urlencoded),
	    cmocka_unit_test(signing_key__matches_the_documented_example),
	    cmocka_unit_test(s3_example__get_object_with_range),
	    cmocka_unit_test(s3_example__put_object_key_with_dollar),
	    cmocka_unit_test(s3_example__get_bucket_lifecycle),
	    cmocka_unit_test(s3_example__list_objects),
	    cmocka_unit_test(botocore__upload_part_with_token_and_special_key),
	    cmocka_unit_test(botocore__header_values_trimmed_and_squeezed),
	    cmocka_unit_test(canonical__empty_query_is_an_empty_line),
	    cmocka_unit_test(canonical__repeated_headers_are_joined_in_order),
	    cmocka_unit_test(uri_encode__keeps_unreserved_and_encodes_the_rest),
	    cmocka_unit_test(canonical_query__sorts_encoded_names_then_values),
	    cmocka_unit_test(authorization__rejects_bad_input),
	    cmocka_unit_test(amz_date__formats_utc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
