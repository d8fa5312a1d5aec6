/* Walking a folder into tar, and extracting tar into a sibling folder. */
#include "job/pipeline/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/pipeline/tar.h"

#define FILES_CHUNK (256 * 1024)

static const uint8_t zeros[TAR_END_BYTES];

int files_check_source(const char *dir)
{
	struct stat st;
	if (!dir || !*dir)
		return err_set(E_INVALID, "--files needs a folder");
	if (stat(dir, &st) != 0)
		return err_set(E_INVALID, "--files %s: %s; give the folder to archive", dir,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(E_INVALID, "--files %s: not a directory; give the folder to archive",
			       dir);
	return 0;
}

/* --- archiving --- */

struct walker {
	struct stage *sink; /* NULL: measuring (files_measure), nothing is read */
	uint64_t bytes;	    /* what was written, or would be */
	const char *root;
	char path[TAR_PATH_MAX + 1]; /* relative path of the current entry */
	size_t len;
	uint8_t *hdr;
	uint8_t *chunk;
	uint64_t count;
};

/* Messages name the file as the user knows it: "ROOT/REL", quoted. */
static int walk_err(struct walker *w, int code, const char *what, int errnum)
{
	char q[512];
	char full[TAR_PATH_MAX + 64];
	snprintf(full, sizeof(full), "%s/%s", w->root, w->path);
	tar_quote(q, sizeof(q), full);
	if (errnum)
		return err_set(code, "--files: %s: %s: %s", q, what, strerror(errnum));
	return err_set(code, "--files: %s: %s", q, what);
}

static int put(struct walker *w, const uint8_t *p, size_t n)
{
	w->bytes += n;
	return w->sink ? stage_write(w->sink, p, n) : 0;
}

static int emit(struct walker *w, const struct tar_entry *e)
{
	size_t n;
	int rc = tar_header_encode(w->hdr, &n, e);
	if (rc)
		return walk_err(w, E_INVALID, "cannot be archived", 0);
	return put(w, w->hdr, n);
}

static void entry_from_stat(struct tar_entry *e, const char *path, enum tar_type type,
			    const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->path = path;
	e->type = type;
	e->mode = (unsigned)st->st_mode & 07777;
	e->mtime = (int64_t)st->st_mtim.tv_sec;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
}

static int archive_file(struct walker *w, int dfd, const char *name)
{
	struct stat st;
	struct tar_entry e;
	int rc = 0;
	/* O_NONBLOCK: a fifo swapped in after the stat must not hang the open. */
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return walk_err(w, E_IO, "cannot open", errno);
	if (fstat(fd, &st) != 0) {
		rc = walk_err(w, E_IO, "cannot stat", errno);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = walk_err(
		    w, E_IO,
		    "changed type while it was archived; retry when nothing writes the folder", 0);
		goto done;
	}
	entry_from_stat(&e, w->path, TAR_FILE, &st);
	e.size = (uint64_t)st.st_size;
	if ((rc = emit(w, &e)))
		goto done;
	if (!w->sink) { /* measuring: the size is what would be read */
		w->bytes += e.size + tar_padding(e.size);
		w->count++;
		goto done;
	}
	uint64_t left = e.size;
	while (left > 0) {
		ssize_t r = read(fd, w->chunk, left < FILES_CHUNK ? (size_t)left : FILES_CHUNK);
		if (r < 0 && errno == EINTR && !stage_interrupted)
			continue;
		if (r < 0) {
			rc = walk_err(w, E_IO, "cannot read", errno);
			goto done;
		}
		if (r == 0) {
			char what[128];
			snprintf(what, sizeof(what),
				 "shrank while it was archived (%llu of %llu bytes read); retry "
				 "when nothing writes the folder",
				 (unsigned long long)(e.size - left), (unsigned long long)e.size);
			rc = walk_err(w, E_IO, what, 0);
			goto done;
		}
		if ((rc = put(w, w->chunk, (size_t)r)))
			goto done;
		left -= (uint64_t)r;
	}
	uint8_t extra;
	if (read(fd, &extra, 1) == 1) {
		char q[512];
		tar_quote(q, sizeof(q), w->path);
		log_warn("--files: %s grew while it was archived; its first %llu bytes are stored",
			 q, (unsigned long long)e.size);
	}
	if ((rc = put(w, zeros, tar_padding(e.size))))
		goto done;
	w->count++;
done:
	close(fd);
	return rc;
}

static int archive_symlink(struct walker *w, int dfd, const char *name, const struct stat *st)
{
	char target[TAR_PATH_MAX + 1];
	struct tar_entry e;
	ssize_t n = readlinkat(dfd, name, target, sizeof(target));
	if (n < 0)
		return walk_err(w, E_IO, "cannot read the symlink", errno);
	if ((size_t)n >= sizeof(target) || n == 0)
		return walk_err(w, E_INVALID,
				"a symlink whose target is empty or longer than 4096 bytes", 0);
	target[n] = '\0';
	entry_from_stat(&e, w->path, TAR_SYMLINK, st);
	e.linkpath = target;
	int rc = emit(w, &e);
	if (!rc)
		w->count++;
	return rc;
}

/* Archives the contents of the open directory dfd (consumed), whose path
 * is w->path, each subdirectory after its own contents. */
static int walk_dir(struct walker *w, int dfd, int depth)
{
	int rc = 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		rc = walk_err(w, E_IO, "cannot list", errno);
		close(dfd);
		return rc;
	}
	size_t base = w->len;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				w->path[base] = '\0';
				rc = walk_err(w, E_IO, "cannot list", errno);
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		size_t nlen = strlen(de->d_name), sep = base ? 1 : 0;
		if (base + sep + nlen > TAR_PATH_MAX) {
			w->path[base] = '\0';
			rc = walk_err(w, E_INVALID, "the path is longer than 4096 bytes", 0);
			break;
		}
		if (sep)
			w->path[base] = '/';
		memcpy(w->path + base + sep, de->d_name, nlen + 1);
		w->len = base + sep + nlen;

		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = walk_err(w, E_IO, "cannot stat", errno);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth + 1 > FILES_MAX_DEPTH) {
				rc = walk_err(w, E_INVALID, "nested more than 256 folders deep", 0);
				break;
			}
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = walk_err(w, E_IO, "cannot open the folder", errno);
				break;
			}
			if (fstat(sub, &st) != 0) {
				rc = walk_err(w, E_IO, "cannot stat", errno);
				close(sub);
				break;
			}
			if ((rc = walk_dir(w, sub, depth + 1)))
				break;
			struct tar_entry e;
			entry_from_stat(&e, w->path, TAR_DIR, &st);
			if ((rc = emit(w, &e)))
				break;
			w->count++;
		} else if (S_ISREG(st.st_mode)) {
			if ((rc = archive_file(w, dirfd(d), de->d_name)))
				break;
		} else if (S_ISLNK(st.st_mode)) {
			if ((rc = archive_symlink(w, dirfd(d), de->d_name, &st)))
				break;
		} else if (w->sink) { /* (warned once: when archiving, not measuring) */
			char q[512];
			tar_quote(q, sizeof(q), w->path);
			log_warn("--files: skipped %s in %s: a %s has no contents to back up", q,
				 w->root,
				 S_ISFIFO(st.st_mode)	? "fifo"
				 : S_ISSOCK(st.st_mode) ? "socket"
							: "device");
		}
	}
	w->path[base] = '\0';
	w->len = base;
	closedir(d);
	return rc;
}

static int walk(struct walker *w, const char *dir)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(E_IO, "--files %s: cannot open: %s", dir, strerror(errno));
	if (fstat(fd, &st) != 0) {
		int rc = err_set(E_IO, "--files %s: cannot stat: %s", dir, strerror(errno));
		close(fd);
		return rc;
	}
	int rc = walk_dir(w, fd, 0);
	if (rc)
		return rc;
	struct tar_entry e;
	entry_from_stat(&e, ".", TAR_DIR, &st);
	if ((rc = emit(w, &e)))
		return rc;
	return put(w, zeros, TAR_END_BYTES);
}

int files_archive(uint64_t *count, const char *dir, struct stage *sink)
{
	struct walker *w = xcalloc(1, sizeof(*w));
	w->sink = sink;
	w->root = dir;
	w->hdr = xmalloc(TAR_HEADER_MAX);
	w->chunk = xmalloc(FILES_CHUNK);
	int rc = walk(w, dir);
	if (!rc)
		*count = w->count;
	free(w->hdr);
	free(w->chunk);
	free(w);
	return rc;
}

int files_measure(uint64_t *bytes, uint64_t *count, const char *dir)
{
	struct walker *w = xcalloc(1, sizeof(*w));
	w->root = dir;
	w->hdr = xmalloc(TAR_HEADER_MAX);
	int rc = walk(w, dir);
	if (!rc) {
		*bytes = w->bytes;
		*count = w->count;
	}
	free(w->hdr);
	free(w);
	return rc;
}

/* --- removing a tree (a failed restore's sibling, or the replaced folder) --- */

static int rm_tree_at(int pfd, const char *name, int depth)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(pfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
	if (depth > FILES_MAX_DEPTH + 1)
		return -ELOOP;
	/* A read-only folder (mode 0555 restored from the archive) must become
	 * writable before its entries can go. */
	if (fchmodat(pfd, name, 0700, 0) != 0 && errno != EPERM)
		return -errno;
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = 0, removed;
	/* Removing while listing may skip entries: list again until empty. */
	do {
		removed = 0;
		rewinddir(d);
		struct dirent *de;
		while (!rc && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			rc = rm_tree_at(dirfd(d), de->d_name, depth + 1);
			removed = 1;
		}
	} while (!rc && removed);
	closedir(d);
	if (!rc && unlinkat(pfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

static int rm_tree(const char *path)
{
	return rm_tree_at(AT_FDCWD, path, 0);
}

/* --- restoring --- */

struct files_restore {
	char *dir;     /* as given */
	char *sibling; /* the folder extracted into */
	int rootfd;
	int committed;
	/* the entry being extracted */
	int fd;
	char quoted[512];
	const struct tar_entry *cur;
	struct tar_reader_ops ops;
};

static int split_dir(char **parent, char **base, const char *dir)
{
	char *a = xstrdup(dir), *b = xstrdup(dir);
	size_t n = strlen(a);
	while (n > 1 && a[n - 1] == '/') {
		n--;
		a[n] = b[n] = '\0';
	}
	char *bn = basename(b);
	if (!*bn || !strcmp(bn, "/") || !strcmp(bn, ".") || !strcmp(bn, "..")) {
		free(a);
		free(b);
		err_set(E_INVALID,
			"--files %s: name a folder by its own name (not /, . or ..) so it can be "
			"replaced",
			dir);
		return E_INVALID;
	}
	*base = xstrdup(bn);
	*parent = xstrdup(dirname(a));
	free(a);
	free(b);
	return 0;
}

int files_restore_new(struct files_restore **out, const char *dir)
{
	struct stat st;
	char *parent = NULL, *base = NULL;
	int rc;
	if (!dir || !*dir)
		return err_set(E_INVALID, "--files needs a folder");
	if ((rc = split_dir(&parent, &base, dir)))
		return rc;
	if (lstat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		rc = err_set(E_INVALID,
			     "--files %s exists and is not a directory; remove it or give "
			     "another folder",
			     dir);
		goto done;
	}
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = err_set(E_INVALID, "--files %s: its parent folder %s %s", dir, parent,
			     errno == ENOENT ? "does not exist" : "is not a usable directory");
		goto done;
	}
	struct files_restore *fr = xcalloc(1, sizeof(*fr));
	fr->dir = xstrdup(dir);
	fr->sibling = xasprintf("%s/.%s.lifeboat-XXXXXX", parent, base);
	fr->fd = -1;
	fr->rootfd = -1;
	if (!mkdtemp(fr->sibling)) {
		rc = err_set(E_IO,
			     "--files %s: cannot create a folder beside it in %s: %s; the restore "
			     "needs write access to the parent folder",
			     dir, parent, strerror(errno));
		free(fr->sibling);
		fr->sibling = NULL;
		files_restore_free(fr);
		goto done;
	}
	fr->rootfd = open(fr->sibling, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fr->rootfd < 0) {
		rc = err_set(E_IO, "cannot open %s: %s", fr->sibling, strerror(errno));
		files_restore_free(fr);
		goto done;
	}
	*out = fr;
done:
	free(parent);
	free(base);
	return rc;
}

/* Opens the folder holding path's last component, creating missing folders
 * on the way and refusing to pass through a symlink. Sets *leaf. */
static int open_parent(struct files_restore *fr, const char *path, const char **leaf, int *out)
{
	char comp[TAR_PATH_MAX + 1];
	int cur = dup(fr->rootfd);
	if (cur < 0)
		return err_set(E_IO, "dup: %s", strerror(errno));
	const char *p = path;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (!p[n]) {
			*leaf = p;
			*out = cur;
			return 0;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, comp, 0700) != 0 && errno != EEXIST) {
				int e = errno;
				close(cur);
				return err_set(
				    E_IO,
				    "files archive: cannot create the folder for entry %s: %s",
				    fr->quoted, strerror(e));
			}
			next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			int e = errno;
			struct stat st;
			int link = fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				   S_ISLNK(st.st_mode);
			close(cur);
			if (link)
				return err_set(
				    E_INTEGRITY,
				    "files archive: entry %s would be written through a "
				    "symlink the archive made; refusing to extract outside "
				    "the folder (tar-slip)",
				    fr->quoted);
			return err_set(e == ENOTDIR ? E_INTEGRITY : E_IO,
				       "files archive: entry %s: a folder on its path cannot be "
				       "opened: %s",
				       fr->quoted, strerror(e));
		}
		close(cur);
		cur = next;
		p += n + 1;
	}
}

static mode_t safe_mode(unsigned mode)
{
	/* No setuid or setgid bits from an archive. */
	return (mode_t)(mode & 01777);
}

/* The access time is left alone; only mtime is archived. */
static int set_fd_time(int fd, int64_t mtime)
{
	struct timespec ts[2] = {{0, UTIME_OMIT}, {(time_t)mtime, 0}};
	return futimens(fd, ts);
}

static int set_link_time(int dfd, const char *name, int64_t mtime)
{
	struct timespec ts[2] = {{0, UTIME_OMIT}, {(time_t)mtime, 0}};
	return utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static int on_entry(void *ud, const struct tar_entry *e)
{
	struct files_restore *fr = ud;
	const char *leaf;
	int pfd = -1, rc = 0;
	tar_quote(fr->quoted, sizeof(fr->quoted), e->path);
	fr->cur = e;
	if (!strcmp(e->path, ".")) {
		/* The folder itself (written last): its mode and mtime. */
		if (fchmod(fr->rootfd, safe_mode(e->mode) | 0700) != 0 ||
		    set_fd_time(fr->rootfd, e->mtime) != 0)
			return err_set(E_IO,
				       "files archive: cannot set the folder's mode or time: %s",
				       strerror(errno));
		return 0;
	}
	if ((rc = open_parent(fr, e->path, &leaf, &pfd)))
		return rc;
	switch (e->type) {
	case TAR_FILE:
		fr->fd =
		    openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fr->fd < 0)
			rc = err_set(errno == EEXIST ? E_INTEGRITY : E_IO,
				     "files archive: cannot create %s: %s%s", fr->quoted,
				     strerror(errno),
				     errno == EEXIST ? " (the archive names it twice)" : "");
		break;
	case TAR_SYMLINK:
		if (symlinkat(e->linkpath, pfd, leaf) != 0)
			rc = err_set(errno == EEXIST ? E_INTEGRITY : E_IO,
				     "files archive: cannot create the symlink %s: %s%s",
				     fr->quoted, strerror(errno),
				     errno == EEXIST ? " (the archive names it twice)" : "");
		else if (set_link_time(pfd, leaf, e->mtime) != 0)
			rc = err_set(E_IO, "files archive: cannot set the time of %s: %s",
				     fr->quoted, strerror(errno));
		break;
	case TAR_DIR: {
		/* Written after its contents, or (empty) on its own: it may exist. */
		if (mkdirat(pfd, leaf, 0700) != 0 && errno != EEXIST) {
			rc = err_set(E_IO, "files archive: cannot create the folder %s: %s",
				     fr->quoted, strerror(errno));
			break;
		}
		int dfd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0) {
			rc = err_set(
			    E_INTEGRITY,
			    "files archive: the folder %s cannot be opened (%s): the archive "
			    "names it also as a file or symlink",
			    fr->quoted, strerror(errno));
			break;
		}
		if (fchmod(dfd, safe_mode(e->mode)) != 0 || set_fd_time(dfd, e->mtime) != 0)
			rc = err_set(E_IO, "files archive: cannot set the mode or time of %s: %s",
				     fr->quoted, strerror(errno));
		close(dfd);
		break;
	}
	}
	close(pfd);
	return rc;
}

static int on_data(void *ud, const uint8_t *p, size_t n)
{
	struct files_restore *fr = ud;
	while (n > 0) {
		ssize_t w = write(fr->fd, p, n);
		if (w < 0 && errno == EINTR && !stage_interrupted)
			continue;
		if (w < 0)
			return err_set(E_IO, "files archive: cannot write %s: %s", fr->quoted,
				       strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int on_entry_end(void *ud, const struct tar_entry *e)
{
	struct files_restore *fr = ud;
	int rc = 0;
	if (fr->fd < 0)
		return 0;
	if (fchmod(fr->fd, safe_mode(e->mode)) != 0 || set_fd_time(fr->fd, e->mtime) != 0)
		rc = err_set(E_IO, "files archive: cannot set the mode or time of %s: %s",
			     fr->quoted, strerror(errno));
	if (close(fr->fd) != 0 && !rc)
		rc = err_set(E_IO, "files archive: cannot write %s: %s", fr->quoted,
			     strerror(errno));
	fr->fd = -1;
	return rc;
}

struct stage *files_restore_sink(struct files_restore *fr)
{
	fr->ops = (struct tar_reader_ops){on_entry, on_data, on_entry_end};
	return tar_reader_new(&fr->ops, fr);
}

int files_restore_commit(struct files_restore *fr)
{
	struct stat st;
	if (fr->fd >= 0) {
		close(fr->fd);
		fr->fd = -1;
	}
	if (lstat(fr->dir, &st) != 0) {
		if (renameat2(AT_FDCWD, fr->sibling, AT_FDCWD, fr->dir, RENAME_NOREPLACE) != 0)
			return err_set(E_IO, "--files %s: cannot rename %s into place: %s", fr->dir,
				       fr->sibling, strerror(errno));
		fr->committed = 1;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(E_IO,
			       "--files %s is no longer a directory; the restored folder is "
			       "left out",
			       fr->dir);
	/* One atomic step: the restored tree and the old one swap names. */
	if (renameat2(AT_FDCWD, fr->sibling, AT_FDCWD, fr->dir, RENAME_EXCHANGE) != 0) {
		int e = errno;
		return err_set(
		    E_IO,
		    "--files %s: cannot swap the restored folder into place (%s)%s; %s is "
		    "as it was",
		    fr->dir, strerror(e),
		    e == EXDEV || e == EBUSY
			? ": it is a mount point or on another file system than its "
			  "parent; mount the volume one level up and give a folder inside it"
			: "",
		    fr->dir);
	}
	fr->committed = 1;
	/* fr->sibling now holds the old tree. */
	int rc = rm_tree(fr->sibling);
	if (rc)
		log_warn("--files %s restored, but the replaced folder %s could not be removed: %s",
			 fr->dir, fr->sibling, strerror(-rc));
	return 0;
}

void files_restore_free(struct files_restore *fr)
{
	if (!fr)
		return;
	if (fr->fd >= 0)
		close(fr->fd);
	if (fr->rootfd >= 0)
		close(fr->rootfd);
	if (fr->sibling && !fr->committed) {
		int rc = rm_tree(fr->sibling);
		if (rc)
			log_warn("could not remove %s: %s", fr->sibling, strerror(-rc));
	}
	free(fr->sibling);
	free(fr->dir);
	free(fr);
}
