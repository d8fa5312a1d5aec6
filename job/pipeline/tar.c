/* The tar format: ustar headers, pax records, and a streaming reader. */
#include "job/pipeline/tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"

/* ustar header field offsets and sizes (POSIX.1-2001 pax, "ustar Interchange Format"). */
#define H_NAME 0
#define H_MODE 100
#define H_UID 108
#define H_GID 116
#define H_SIZE 124
#define H_MTIME 136
#define H_CHKSUM 148
#define H_TYPE 156
#define H_LINK 157
#define H_MAGIC 257
#define H_VERSION 263
#define H_PREFIX 345
#define NAME_LEN 100
#define LINK_LEN 100
#define PREFIX_LEN 155

/* --- encoding --- */

/* Writes v as width-1 octal digits and a NUL; 0 when it does not fit. */
static int put_octal(uint8_t *field, size_t width, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int)(width - 1), (unsigned long long)v);
	if (n < 0 || (size_t)n != width - 1)
		return 0;
	memcpy(field, tmp, width - 1);
	field[width - 1] = '\0';
	return 1;
}

static int printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int valid_utf8(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = text_utf8_len((const unsigned char *)s + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* Appends the pax record "LEN key=value\n" (LEN counting itself); 0 when
 * it does not fit in cap. */
static int pax_add(char *buf, size_t *len, size_t cap, const char *key, const char *value)
{
	size_t body = 1 + strlen(key) + 1 + strlen(value) + 1, total = body + 1;
	/* The length's own digits count: settle on the fixed point. */
	for (;;) {
		char digits[24];
		size_t d = (size_t)snprintf(digits, sizeof(digits), "%zu", total);
		if (d + body == total)
			break;
		total = d + body;
	}
	if (*len + total > cap)
		return 0;
	int n = snprintf(buf + *len, cap - *len, "%zu %s=", total, key);
	size_t vlen = strlen(value);
	memcpy(buf + *len + (size_t)n, value, vlen);
	buf[*len + (size_t)n + vlen] = '\n';
	*len += total;
	return 1;
}

/* Splits name over ustar's prefix and name fields; 0 when it cannot. */
static int split_name(const char *name, size_t *prefix_len)
{
	size_t n = strlen(name);
	if (n <= NAME_LEN) {
		*prefix_len = 0;
		return 1;
	}
	/* The last '/' that leaves both halves in their fields; a directory's
	 * trailing '/' is not a split point. */
	for (size_t i = n - 1; i > 0; i--) {
		if (name[i] != '/' || i == n - 1)
			continue;
		if (i <= PREFIX_LEN && n - i - 1 <= NAME_LEN && n - i - 1 > 0) {
			*prefix_len = i;
			return 1;
		}
		if (n - i - 1 > NAME_LEN)
			break;
	}
	return 0;
}

static void checksum(uint8_t *h)
{
	unsigned sum = 0;
	memset(h + H_CHKSUM, ' ', 8);
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + H_CHKSUM, 8, "%06o", sum);
	h[H_CHKSUM + 7] = ' ';
}

static void ustar_fill(uint8_t *h, char type, unsigned mode, uint64_t uid, uint64_t gid,
		       uint64_t size, uint64_t mtime)
{
	put_octal(h + H_MODE, 8, mode);
	put_octal(h + H_UID, 8, uid);
	put_octal(h + H_GID, 8, gid);
	put_octal(h + H_SIZE, 12, size);
	put_octal(h + H_MTIME, 12, mtime);
	h[H_TYPE] = (uint8_t)type;
	memcpy(h + H_MAGIC, "ustar", 6);
	memcpy(h + H_VERSION, "00", 2);
}

int tar_header_encode(uint8_t *out, size_t *outlen, const struct tar_entry *e)
{
	char name[TAR_PATH_MAX + 2], pax[TAR_PAX_MAX], num[32];
	size_t paxlen = 0, prefix_len = 0;
	const char *link = e->type == TAR_SYMLINK ? e->linkpath : "";
	size_t plen = strlen(e->path);
	if (plen == 0 || plen > TAR_PATH_MAX || (e->type == TAR_SYMLINK && (!link || !*link)) ||
	    strlen(link) > TAR_PATH_MAX)
		return err_set(E_INVALID,
			       "tar: entry name or link target is empty or longer than %d bytes",
			       TAR_PATH_MAX);
	snprintf(name, sizeof(name), "%s%s", e->path, e->type == TAR_DIR ? "/" : "");
	uint64_t size = e->type == TAR_FILE ? e->size : 0;
	int ascii = printable_ascii(name), ok = 1;
	int name_pax = !ascii || !split_name(name, &prefix_len);
	int link_pax = !printable_ascii(link) || strlen(link) > LINK_LEN;
	if ((name_pax && !valid_utf8(name)) || (link_pax && !valid_utf8(link)))
		ok &= pax_add(pax, &paxlen, sizeof(pax), "hdrcharset", "BINARY");
	if (name_pax)
		ok &= pax_add(pax, &paxlen, sizeof(pax), "path", name);
	if (link_pax)
		ok &= pax_add(pax, &paxlen, sizeof(pax), "linkpath", link);
	if (size > 077777777777ULL) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
		ok &= pax_add(pax, &paxlen, sizeof(pax), "size", num);
	}
	if (e->mtime < 0 || e->mtime > 077777777777LL) {
		snprintf(num, sizeof(num), "%lld", (long long)e->mtime);
		ok &= pax_add(pax, &paxlen, sizeof(pax), "mtime", num);
	}
	if (e->uid > 07777777) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)e->uid);
		ok &= pax_add(pax, &paxlen, sizeof(pax), "uid", num);
	}
	if (e->gid > 07777777) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)e->gid);
		ok &= pax_add(pax, &paxlen, sizeof(pax), "gid", num);
	}
	if (!ok)
		return err_set(E_INVALID, "tar: the pax header of an entry exceeds %d bytes",
			       TAR_PAX_MAX);

	uint8_t *h = out;
	size_t used = 0;
	if (paxlen > 0) {
		memset(h, 0, TAR_BLOCK);
		memcpy(h + H_NAME, "PaxHeader", 9);
		ustar_fill(h, 'x', 0644, 0, 0, paxlen,
			   e->mtime < 0 ? 0 : (uint64_t)e->mtime & 077777777777ULL);
		checksum(h);
		memcpy(out + TAR_BLOCK, pax, paxlen);
		memset(out + TAR_BLOCK + paxlen, 0, tar_padding(paxlen));
		used = TAR_BLOCK + paxlen + tar_padding(paxlen);
		h = out + used;
	}
	memset(h, 0, TAR_BLOCK);
	if (name_pax) {
		/* ustar keeps a printable stand-in; readers take the pax path. */
		size_t k = 0;
		for (size_t i = 0; name[i] && k < NAME_LEN; i++)
			h[H_NAME + k++] =
			    (uint8_t)(name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '_');
	} else if (prefix_len) {
		memcpy(h + H_PREFIX, name, prefix_len);
		memcpy(h + H_NAME, name + prefix_len + 1, strlen(name) - prefix_len - 1);
	} else {
		memcpy(h + H_NAME, name, strlen(name));
	}
	if (!link_pax)
		memcpy(h + H_LINK, link, strlen(link));
	char type = e->type == TAR_DIR ? '5' : e->type == TAR_SYMLINK ? '2' : '0';
	ustar_fill(h, type, e->mode & 07777, e->uid > 07777777 ? 0 : e->uid,
		   e->gid > 07777777 ? 0 : e->gid, size > 077777777777ULL ? 0 : size,
		   (e->mtime < 0 || e->mtime > 077777777777LL) ? 0 : (uint64_t)e->mtime);
	checksum(h);
	*outlen = used + TAR_BLOCK;
	return 0;
}

size_t tar_padding(uint64_t size)
{
	return (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
}

/* --- names --- */

void tar_quote(char *out, size_t n, const char *s)
{
	size_t k = 0;
	out[k++] = '"';
	for (; *s; s++) {
		char esc[8];
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		size_t e = strlen(esc);
		if (k + e + 5 > n) {
			memcpy(out + k, "...", 3);
			k += 3;
			break;
		}
		memcpy(out + k, esc, e);
		k += e;
	}
	out[k++] = '"';
	out[k] = '\0';
}

int tar_check_path(const char *path)
{
	char q[256];
	if (strcmp(path, ".") == 0)
		return 0;
	tar_quote(q, sizeof(q), path);
	if (!*path)
		return err_set(E_INTEGRITY, "files archive: an entry has an empty name");
	if (path[0] == '/')
		return err_set(E_INTEGRITY,
			       "files archive: entry %s has an absolute path; refusing to extract "
			       "outside the folder (tar-slip)",
			       q);
	for (const char *p = path;;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return err_set(
			    E_INTEGRITY,
			    "files archive: entry %s has a \"..\" component; refusing to "
			    "extract outside the folder (tar-slip)",
			    q);
		if (n == 0 || (n == 1 && p[0] == '.'))
			return err_set(
			    E_INTEGRITY,
			    "files archive: entry %s has an empty or \".\" component; it "
			    "is not a name lifeboat writes",
			    q);
		if (!p[n])
			break;
		p += n + 1;
	}
	return 0;
}

/* --- reading --- */

enum rstate { R_HEADER, R_PAX, R_DATA, R_PAD, R_END, R_FAILED };

struct reader {
	struct stage base;
	const struct tar_reader_ops *ops;
	void *ud;
	enum rstate state;
	uint8_t block[TAR_BLOCK];
	size_t have;	    /* bytes in block (R_HEADER) */
	uint64_t remaining; /* of pax data or file data */
	size_t pad;	    /* zero bytes to skip (R_PAD) */
	int zero_blocks;
	int pax_global; /* the pax data being read is a 'g' header: discarded */
	char pax[TAR_PAX_MAX];
	size_t paxlen;
	int pax_pending; /* an 'x' header applies to the next entry */
	char path[TAR_PATH_MAX + 2];
	char link[TAR_PATH_MAX + 1];
	struct tar_entry entry;
	uint64_t count;
	uint64_t offset; /* of the stream, for messages */
	/* what the pax header of the next entry set */
	int has_pax_path, has_pax_link, has_pax_size, has_pax_mtime;
	uint64_t pax_size;
	int64_t pax_mtime;
};

static int bad(struct reader *r, int code, const char *what)
{
	r->state = R_FAILED;
	if (r->entry.path && r->path[0]) {
		char q[256];
		tar_quote(q, sizeof(q), r->path);
		return err_set(code, "files archive: %s (at byte %llu, entry %s)", what,
			       (unsigned long long)r->offset, q);
	}
	return err_set(code, "files archive: %s (at byte %llu)", what,
		       (unsigned long long)r->offset);
}

/* A NUL- or space-terminated octal field. */
static int get_octal(uint64_t *out, const uint8_t *f, size_t width)
{
	size_t i = 0;
	uint64_t v = 0;
	while (i < width && f[i] == ' ')
		i++;
	size_t start = i;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return 0;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	if (i == start)
		return 0;
	for (; i < width; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return 0;
	*out = v;
	return 1;
}

static int get_decimal(uint64_t *out, const char *s, size_t n)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 1;
}

/* Copies a field of at most width bytes, NUL-terminated or full. */
static size_t field_len(const uint8_t *f, size_t width)
{
	const void *z = memchr(f, 0, width);
	return z ? (size_t)((const uint8_t *)z - f) : width;
}

static int parse_pax(struct reader *r)
{
	size_t i = 0;
	while (i < r->paxlen) {
		const char *rec = r->pax + i;
		size_t left = r->paxlen - i, sp = 0;
		uint64_t len;
		while (sp < left && sp < 20 && rec[sp] != ' ')
			sp++;
		if (sp >= left || !get_decimal(&len, rec, sp) || len <= sp + 1 || len > left ||
		    rec[len - 1] != '\n')
			return bad(r, E_INTEGRITY, "malformed pax extended header record");
		const char *kv = rec + sp + 1, *eq = memchr(kv, '=', len - sp - 2);
		if (!eq)
			return bad(r, E_INTEGRITY, "pax extended header record without '='");
		size_t klen = (size_t)(eq - kv), vlen = (size_t)(rec + len - 1 - (eq + 1));
		const char *val = eq + 1;
		if (memchr(val, '\0', vlen))
			return bad(r, E_INTEGRITY,
				   "a pax extended header value contains a NUL byte");
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(kv, k, klen) == 0)
		if (KEY("path")) {
			if (vlen == 0 || vlen > TAR_PATH_MAX + 1)
				return bad(r, E_INTEGRITY, "a pax path is empty or too long");
			memcpy(r->path, val, vlen);
			r->path[vlen] = '\0';
			r->has_pax_path = 1;
		} else if (KEY("linkpath")) {
			if (vlen > TAR_PATH_MAX)
				return bad(r, E_INTEGRITY, "a pax linkpath is too long");
			memcpy(r->link, val, vlen);
			r->link[vlen] = '\0';
			r->has_pax_link = 1;
		} else if (KEY("size")) {
			if (!get_decimal(&r->pax_size, val, vlen))
				return bad(r, E_INTEGRITY, "a pax size is not a number");
			r->has_pax_size = 1;
		} else if (KEY("mtime")) {
			/* [-]SECONDS[.FRACTION]; the fraction is not kept. */
			size_t neg = vlen > 0 && val[0] == '-';
			const char *dot = memchr(val + neg, '.', vlen - neg);
			size_t n = dot ? (size_t)(dot - (val + neg)) : vlen - neg;
			uint64_t s;
			if (!get_decimal(&s, val + neg, n) || s > INT64_MAX)
				return bad(r, E_INTEGRITY, "a pax mtime is not a number");
			r->pax_mtime = neg ? -(int64_t)s : (int64_t)s;
			r->has_pax_mtime = 1;
		}
#undef KEY
		i += len;
	}
	return 0;
}

static void reset_pax(struct reader *r)
{
	r->pax_pending = r->has_pax_path = r->has_pax_link = r->has_pax_size = r->has_pax_mtime = 0;
	r->paxlen = 0;
}

/* Strips trailing slashes ("dir/" -> "dir"; "./" -> "."). */
static void strip_slashes(char *p)
{
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
}

static int end_entry(struct reader *r)
{
	int rc = 0;
	if (r->ops && r->ops->entry_end)
		rc = r->ops->entry_end(r->ud, &r->entry);
	if (rc)
		r->state = R_FAILED;
	else
		r->state = R_HEADER;
	r->entry.path = NULL;
	r->path[0] = '\0';
	return rc;
}

static int on_header(struct reader *r)
{
	uint8_t *h = r->block;
	int all_zero = 1;
	for (int i = 0; i < TAR_BLOCK && all_zero; i++)
		all_zero = h[i] == 0;
	if (all_zero) {
		if (r->pax_pending)
			return bad(r, E_INTEGRITY, "a pax extended header is followed by no entry");
		if (++r->zero_blocks == 2)
			r->state = R_END;
		return 0;
	}
	if (r->zero_blocks)
		return bad(r, E_INTEGRITY, "a lone zero block inside the archive");
	uint64_t want, got = 0;
	if (!get_octal(&want, h + H_CHKSUM, 8))
		return bad(r, E_INTEGRITY,
			   "a header's checksum field is not octal: not a tar header");
	for (int i = 0; i < TAR_BLOCK; i++)
		got += (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : h[i];
	if (got != want)
		return bad(r, E_INTEGRITY,
			   "a header checksum does not match: the archive is corrupt");
	if (memcmp(h + H_MAGIC, "ustar", 6) != 0 || memcmp(h + H_VERSION, "00", 2) != 0)
		return bad(r, E_INTEGRITY, "a header is not POSIX ustar");
	uint64_t size, mode, mtime, uid, gid;
	if (!get_octal(&size, h + H_SIZE, 12) || !get_octal(&mode, h + H_MODE, 8) ||
	    !get_octal(&mtime, h + H_MTIME, 12) || !get_octal(&uid, h + H_UID, 8) ||
	    !get_octal(&gid, h + H_GID, 8))
		return bad(r, E_INTEGRITY, "a header has a malformed numeric field");
	char type = (char)h[H_TYPE];
	if (type == 'x' || type == 'g') {
		if (type == 'x' && r->pax_pending)
			return bad(r, E_INTEGRITY, "two pax extended headers in a row");
		if (size > TAR_PAX_MAX)
			return bad(r, E_TOOBIG,
				   "a pax extended header is larger than lifeboat reads");
		r->pax_global = type == 'g';
		r->paxlen = 0;
		r->remaining = size;
		r->pad = tar_padding(size);
		r->state = size ? R_PAX : R_PAD;
		if (!r->pax_global)
			r->pax_pending = 1;
		return 0;
	}
	struct tar_entry *e = &r->entry;
	memset(e, 0, sizeof(*e));
	if (!r->has_pax_path) {
		size_t plen = field_len(h + H_PREFIX, PREFIX_LEN),
		       nlen = field_len(h + H_NAME, NAME_LEN);
		size_t k = 0;
		if (plen) {
			memcpy(r->path, h + H_PREFIX, plen);
			k = plen;
			r->path[k++] = '/';
		}
		memcpy(r->path + k, h + H_NAME, nlen);
		r->path[k + nlen] = '\0';
	}
	if (!r->has_pax_link) {
		size_t llen = field_len(h + H_LINK, LINK_LEN);
		memcpy(r->link, h + H_LINK, llen);
		r->link[llen] = '\0';
	}
	strip_slashes(r->path);
	e->path = r->path;
	e->mode = (unsigned)(mode & 07777);
	e->mtime = r->has_pax_mtime ? r->pax_mtime : (int64_t)mtime;
	e->size = r->has_pax_size ? r->pax_size : size;
	e->uid = uid;
	e->gid = gid;
	reset_pax(r);
	switch (type) {
	case '0':
	case '\0':
		e->type = TAR_FILE;
		break;
	case '5':
		e->type = TAR_DIR;
		break;
	case '2':
		e->type = TAR_SYMLINK;
		e->linkpath = r->link;
		break;
	default: {
		char what[128];
		snprintf(what, sizeof(what), "entry type '%c' (%s) is not one lifeboat restores",
			 (type >= 0x20 && type < 0x7f) ? type : '?',
			 type == '1'   ? "a hard link"
			 : type == '3' ? "a character device"
			 : type == '4' ? "a block device"
			 : type == '6' ? "a fifo"
				       : "unknown");
		return bad(r, E_UNSUPPORTED, what);
	}
	}
	if (e->type != TAR_FILE && e->size != 0)
		return bad(r, E_INTEGRITY, "a directory or symlink entry carries data");
	if (e->type == TAR_SYMLINK && !r->link[0])
		return bad(r, E_INTEGRITY, "a symlink entry has no target");
	if (strcmp(r->path, ".") == 0 && e->type != TAR_DIR)
		return bad(r, E_INTEGRITY, "the entry \".\" is not a directory");
	int rc = tar_check_path(r->path);
	if (rc) {
		r->state = R_FAILED;
		return rc;
	}
	if (strcmp(r->path, ".") != 0)
		r->count++;
	if (r->ops && r->ops->entry && (rc = r->ops->entry(r->ud, e))) {
		r->state = R_FAILED;
		return rc;
	}
	if (e->size > 0) {
		r->remaining = e->size;
		r->pad = tar_padding(e->size);
		r->state = R_DATA;
		return 0;
	}
	return end_entry(r);
}

static int reader_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct reader *r = (struct reader *)s;
	int rc = 0;
	while (n > 0 && !rc) {
		size_t take;
		switch (r->state) {
		case R_HEADER:
			take = TAR_BLOCK - r->have < n ? TAR_BLOCK - r->have : n;
			memcpy(r->block + r->have, p, take);
			r->have += take;
			if (r->have == TAR_BLOCK) {
				r->have = 0;
				rc = on_header(r);
			}
			break;
		case R_PAX:
			take = r->remaining < n ? (size_t)r->remaining : n;
			if (!r->pax_global)
				memcpy(r->pax + r->paxlen, p, take);
			r->paxlen += take;
			r->remaining -= take;
			if (r->remaining == 0) {
				r->state = R_PAD;
				if (!r->pax_global)
					rc = parse_pax(r);
				else
					r->paxlen = 0;
			}
			break;
		case R_DATA:
			take = r->remaining < n ? (size_t)r->remaining : n;
			if (r->ops && r->ops->data && (rc = r->ops->data(r->ud, p, take)))
				r->state = R_FAILED;
			r->remaining -= take;
			if (!rc && r->remaining == 0) {
				r->state = R_PAD;
				if (r->pad == 0)
					rc = end_entry(r);
			}
			break;
		case R_PAD:
			take = r->pad < n ? r->pad : n;
			r->pad -= take;
			if (r->pad == 0) {
				/* After a pax header the entry follows; after data it ends. */
				if (r->entry.path)
					rc = end_entry(r);
				else
					r->state = R_HEADER;
			}
			break;
		case R_END:
			take = n;
			for (size_t i = 0; i < n; i++)
				if (p[i] != 0) {
					r->offset += i;
					return bad(
					    r, E_INTEGRITY,
					    "non-zero bytes after the end-of-archive marker");
				}
			break;
		case R_FAILED:
		default:
			return bad(r, E_INTEGRITY, "written to after an error");
		}
		p += take;
		n -= take;
		r->offset += take;
	}
	return rc;
}

static int reader_finish(struct stage *s)
{
	struct reader *r = (struct reader *)s;
	if (r->state == R_FAILED)
		return bad(r, E_INTEGRITY, "finished after an error");
	if (r->state != R_END)
		return bad(
		    r, E_INTEGRITY,
		    r->state == R_HEADER && r->have == 0 && !r->entry.path
			? "the archive ends without its end-of-archive marker: it is truncated"
			: "the archive ends inside an entry: it is truncated");
	return stage_finish_next(s);
}

static void reader_free(struct stage *s)
{
	free(s);
}

static const struct stage_ops reader_ops = {"tar", reader_write, reader_finish, reader_free};

struct stage *tar_reader_new(const struct tar_reader_ops *ops, void *ud)
{
	struct reader *r = xcalloc(1, sizeof(*r));
	r->base.ops = &reader_ops;
	r->ops = ops;
	r->ud = ud;
	r->state = R_HEADER;
	return &r->base;
}

uint64_t tar_reader_count(const struct stage *s)
{
	return ((const struct reader *)s)->count;
}
