/* Fuzz target: Azure Blob's XML replies as job/store/azure.c reads them: a List
 * Blobs page (azure_list_parse), an error body (azure_error_parse) and
 * single elements (azure_xml_text). Properties: a page either fails with
 * E_STORE or hands out non-empty names and a marker that is NULL or
 * non-empty; an error's code is at most 100 bytes and its message one line
 * of at most 300; decoded text is never longer than the element. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "job/store/azure.h"
#include "tests/fuzz/fuzz.h"

static int on_blob(const char *name, uint64_t size, void *ud)
{
	size_t *n = ud;
	(void)size;
	FUZZ_CHECK(name && *name, "a blob without a name");
	(*n)++;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = {"Code", "Message",	     "NextMarker",	  "Name",
					   "Blob", "Content-Length", "EnumerationResults"};
	const char *xml = (const char *)data;
	char *marker = NULL, *code = NULL, *message = NULL;
	size_t n = 0;

	int rc = azure_list_parse(&marker, xml, size, on_blob, &n);
	if (fuzz_debug())
		fprintf(stderr, "azure_list_parse: %d %s, %zu blobs\n", rc, rc ? err_msg() : "", n);
	FUZZ_CHECK(rc == 0 || rc == E_STORE, "azure_list_parse returned %d", rc);
	FUZZ_CHECK(rc == 0 || marker == NULL, "a failed parse set the marker");
	FUZZ_CHECK(!marker || (*marker && strlen(marker) <= size), "marker");
	free(marker);

	azure_error_parse(&code, &message, xml, size);
	FUZZ_CHECK(!code || (*code && strlen(code) <= 100), "code");
	FUZZ_CHECK(!message || (strlen(message) <= 300 && !strpbrk(message, "\r\n")), "message");
	free(code);
	free(message);

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		char *t = azure_xml_text(xml, size, tags[i]);
		FUZZ_CHECK(!t || strlen(t) <= size, "%s decoded longer than the input", tags[i]);
		free(t);
	}
	return 0;
}
