/* Fuzz target: S3's XML replies as job/store/s3.c and job/store/store_s3.c read them.
 * The input is
 *   - searched with s3_xml_next (every <Contents>, as the list does) and
 *     s3_xml_text for the elements lifeboat reads, and decoded whole with
 *     s3_xml_decode;
 *   - the reply to a ListObjectsV2 of an s3:// store (through
 *     tests/fuzz/fake_http.c: each page, up to three, then a last page),
 *     and the body of an error reply (403, 404, 500), which names the
 *     provider's Code and Message.
 * Properties: spans and positions stay inside the input and move forward;
 * decoding never lengthens the text; escaping then decoding any text
 * gives it back; a listing hands out only non-empty keys; errors are err
 * codes with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/jobenv.h"
#include "job/store/s3.h"
#include "job/store/store.h"
#include "tests/fuzz/fake_http.h"
#include "tests/fuzz/fuzz.h"

static const char last_page[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>"
				"<IsTruncated>false</IsTruncated></ListBucketResult>";
static struct store *st;

struct script {
	const uint8_t *data;
	size_t size;
	long status;
	int pages;
};

static void serve(const struct http_request *req, struct fake_reply *out, void *ud)
{
	struct script *s = ud;
	(void)req;
	out->status = s->status;
	out->body = (const char *)s->data;
	out->len = s->size;
	if (s->status == 200 && s->pages++ >= 3) {
		out->body = last_page;
		out->len = strlen(last_page);
	}
}

static int on_entry(const struct store_entry *e, void *ud)
{
	size_t *n = ud;
	FUZZ_CHECK(e->key && *e->key, "a listed entry without a key");
	(*n)++;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	setenv(jobenv_name(JOBENV_AWS_ACCESS_KEY_ID), "AKIAFUZZ", 1);
	setenv(jobenv_name(JOBENV_AWS_SECRET_ACCESS_KEY), "fuzz-secret", 1);
	if (store_open(&st, "s3://bucket/root/dir?endpoint=http://127.0.0.1:9&region=us-east-1"))
		abort();
	return 0;
}

static void check_text(const char *t, size_t limit, const char *what)
{
	FUZZ_CHECK(!t || strlen(t) <= limit, "%s: %zu bytes decoded from %zu", what, strlen(t),
		   limit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = {"Key",      "Size",	      "Code",
					   "Message",  "IsTruncated", "NextContinuationToken",
					   "UploadId", "ETag",	      "Contents"};
	const char *xml = (const char *)data;
	struct s3_span all = {xml, size}, item;
	size_t pos = 0, n = 0;

	while (s3_xml_next(xml, size, &pos, "Contents", &item)) {
		FUZZ_CHECK(item.p >= xml && item.p + item.n <= xml + size,
			   "a span outside the input");
		FUZZ_CHECK(pos <= size && xml + pos >= item.p + item.n, "the position went back");
		char *k = s3_xml_text(item, "Key"), *sz = s3_xml_text(item, "Size");
		check_text(k, item.n, "Key");
		free(k);
		free(sz);
	}
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		char *t = s3_xml_text(all, tags[i]);
		check_text(t, size, tags[i]);
		free(t);
	}
	char *whole = s3_xml_decode(xml, size);
	check_text(whole, size, "the whole input");
	free(whole);

	/* Escaping then decoding gives any text back (up to a NUL). */
	char *s = fuzz_strndup(data, size);
	struct buf esc;
	buf_init(&esc, (size_t)-1);
	FUZZ_CHECK(s3_xml_escape(&esc, s) == 0, "s3_xml_escape");
	char *back = s3_xml_decode(buf_str(&esc), esc.len);
	FUZZ_CHECK(strcmp(back, s) == 0, "escape then decode: \"%s\" became \"%s\"", s, back);
	free(back);
	buf_dispose(&esc);
	free(s);

	/* The store reading it as a listing, then as errors. */
	struct script sc = {data, size, 200, 0};
	fake_http_serve(serve, &sc);
	int rc = store_list(st, "ns/name/", on_entry, &n);
	FUZZ_CHECK(rc <= 0 && (rc == 0 || *err_msg()), "list: %d", rc);
	static const long errors[] = {403, 404, 500};
	sc.status = errors[fuzz_hash(data, size) % 3];
	rc = store_list(st, "ns/", on_entry, &n);
	FUZZ_CHECK(rc < 0 && *err_msg(), "an HTTP %ld listing gave %d", sc.status, rc);
	uint64_t sz = 0;
	rc = store_stat(st, "ns/name/manifest.json", &sz);
	FUZZ_CHECK(rc < 0, "an HTTP %ld HEAD gave %d", sc.status, rc);
	fake_http_serve(NULL, NULL);
	return 0;
}
