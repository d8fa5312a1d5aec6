/* The file:// backend: a folder (a mounted volume). Objects are written to
 * a temporary "<key>.XXXXXX.partial" of this writer's own (created
 * exclusively: never a planted symlink, never shared with another writer)
 * and renamed into place after fsync, so a crash never leaves a
 * complete-looking object. STORE_CREATE renames without replacing
 * (renameat2 RENAME_NOREPLACE, else link + unlink): of several writers of
 * one name exactly one succeeds.
 *
 * A writer holds an exclusive flock on its temporary file for its life, so a
 * temporary file nobody holds belongs to a writer that died (SIGKILL, a lost
 * node): each new writer removes those in its folder, so dead attempts never
 * pile up on the volume. */
#include "job/store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h> /* renameat2 */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define READ_CHUNK (256 * 1024)
/* Start writeback every this many bytes, so the final fsync finds little
 * left to do and the page cache does not fill with one backup. */
#define FLUSH_EVERY (8 * 1024 * 1024)

struct file_store {
	struct store base;
	char *root; /* absolute, no trailing slash */
};

struct file_writer {
	struct stage base;
	struct file_store *st;
	char *path;
	char *partial;
	int fd;
	int create; /* STORE_CREATE */
	int done;
	/* Bytes written; the end of the range whose writeback was started; the
	 * end of the range written back and dropped from the page cache. */
	uint64_t written, flushed, dropped;
};

static char *path_of(const struct file_store *fs, const char *key)
{
	return xasprintf("%s/%s", fs->root, key);
}

static int io_error(int code, const char *what, const char *path, int e)
{
	const char *hint = "";
	if (e == ENOSPC || e == EDQUOT)
		hint = ": the storage volume is full; free space or grow the volume, then retry";
	else if (e == EIO)
		hint = ": the volume failed to store data written to it; check the node's kernel "
		       "log (dmesg) and the volume's health before retrying";
	else if (e == EROFS || ((e == EACCES || e == EPERM) && strncmp(what, "cannot", 6) == 0 &&
				(strstr(what, "create") || strstr(what, "write") ||
				 strstr(what, "rename") || strstr(what, "delete"))))
		hint = ": the storage folder is not writable by this process; fix its permissions "
		       "or mount";
	else if (e == EACCES || e == EPERM)
		hint = ": this process may not read the storage folder; fix its permissions";
	return err_set(code, "%s %s: %s%s", what, path, strerror(e), hint);
}

static int file_open(struct store **out, const char *url)
{
	const char *p = url + strlen("file://");
	if (*p != '/')
		return err_set(E_INVALID,
			       "storage URL \"%s\": a file URL needs an absolute path, like "
			       "file:///backups",
			       url);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	char *root = xstrndup(p, n);
	struct stat sb;
	int st_rc = stat(root, &sb);
	if (st_rc != 0 || !S_ISDIR(sb.st_mode)) {
		/* errno is stale when stat succeeded on a non-folder. */
		int missing = st_rc != 0 && errno == ENOENT;
		err_set(E_STORE, "storage folder %s %s; create it or mount the volume there", root,
			missing ? "does not exist" : "is not a readable folder");
		free(root);
		return E_STORE;
	}
	struct file_store *fs = xcalloc(1, sizeof(*fs));
	fs->base.ops = &store_file_ops;
	fs->base.display = xasprintf("file://%s", root);
	fs->root = root;
	*out = &fs->base;
	return 0;
}

static void file_free(struct store *st)
{
	struct file_store *fs = (struct file_store *)st;
	free(fs->root);
	free(fs->base.display);
	free(fs);
}

/* mkdir -p for the folders of path below the root. */
static int make_parents(struct file_store *fs, const char *path)
{
	char *copy = xstrdup(path);
	int rc = 0;
	for (char *p = copy + strlen(fs->root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
			rc = io_error(E_STORE, "cannot create folder", copy, errno);
			break;
		}
		*p = '/';
	}
	free(copy);
	return rc;
}

/* fsync of the folder holding path, so a rename into it survives a crash.
 * EINVAL is a filesystem that cannot sync a folder (the rename is as durable
 * as it gets there); any other failure is an error. */
static int fsync_dir_of(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	int rc = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rc = io_error(E_STORE, "cannot open folder to sync", dir, errno);
	else if (fsync(fd) != 0 && errno != EINVAL)
		rc = io_error(E_STORE, "cannot sync folder", dir, errno);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* Moves the finished temporary file to its name without replacing what is
 * there: E_EXISTS when another writer got there first. */
static int rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOSYS) {
		/* A filesystem without RENAME_NOREPLACE: link fails on an
		 * existing name just the same. */
		if (link(from, to) == 0) {
			unlink(from);
			return 0;
		}
	}
	if (errno == EEXIST)
		return err_set(E_EXISTS,
			       "%s exists: another writer created it first (two runs of one backup "
			       "at once?); this run leaves it alone",
			       to);
	return io_error(E_STORE, "cannot rename into place", to, errno);
}

static int is_partial_name(const char *name)
{
	size_t n = strlen(name), k = strlen(".partial");
	return n > k && strcmp(name + n - k, ".partial") == 0;
}

/* Removes the temporary files in path's folder that no live writer holds.
 * The sweeper locks a file before unlinking it, and a new writer checks,
 * once it holds its own lock, that its file still has a name (see
 * create_partial): the two can never remove a live writer's file. */
static void sweep_dead_partials(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!is_partial_name(de->d_name))
			continue;
		int fd =
		    openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		struct stat held, named;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &held) == 0 &&
		    fstatat(dirfd(d), de->d_name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
		    held.st_ino == named.st_ino && held.st_dev == named.st_dev &&
		    S_ISREG(named.st_mode) && unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("removed %s/%s, left by a writer that is gone", dir, de->d_name);
		close(fd);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* A new temporary file for path, created exclusively (mkostemps: O_EXCL, so
 * an existing name, a planted symlink included, is never opened) and locked;
 * a sweeper that removed it between the two makes us start again. Returns
 * the open descriptor (*out its name) or a negative error code. */
static int create_partial(char **out, const char *path)
{
	for (int tries = 0; tries < 8; tries++) {
		char *partial = xasprintf("%s.XXXXXX.partial", path);
		int fd = mkostemps(partial, (int)strlen(".partial"), O_CLOEXEC);
		struct stat sb;
		if (fd < 0 || fchmod(fd, 0640) != 0 || flock(fd, LOCK_EX) != 0 ||
		    fstat(fd, &sb) != 0) {
			int rc = io_error(E_STORE, "cannot create", partial, errno);
			if (fd >= 0) {
				close(fd);
				unlink(partial);
			}
			free(partial);
			return rc;
		}
		if (sb.st_nlink > 0) {
			*out = partial;
			return fd;
		}
		close(fd);
		free(partial);
	}
	return err_set(E_STORE, "cannot create a temporary file beside %s: it kept disappearing",
		       path);
}

/* Every FLUSH_EVERY bytes: starts the writeback of what was just written
 * (asynchronous), then waits for the range started the time before, done
 * or nearly by now, and drops it from the page cache. A backup nobody reads
 * back streams through a window of two ranges of pages, reused while hot,
 * instead of filling the page cache (and the pod's memory cgroup, which is
 * charged for it) and leaving it all to the final fsync. A write-back error
 * is reported here; filesystems without sync_file_range (EINVAL, ENOSYS,
 * ESPIPE) keep the page cache's default. */
static int stream_out(struct file_writer *w)
{
	sync_file_range(w->fd, (off_t)w->flushed, (off_t)(w->written - w->flushed),
			SYNC_FILE_RANGE_WRITE);
	if (w->flushed > w->dropped) {
		if (sync_file_range(w->fd, (off_t)w->dropped, (off_t)(w->flushed - w->dropped),
				    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
					SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
			if (errno != EINVAL && errno != ENOSYS && errno != ESPIPE)
				return io_error(E_STORE, "cannot write", w->partial, errno);
		} else {
			posix_fadvise(w->fd, (off_t)w->dropped, (off_t)(w->flushed - w->dropped),
				      POSIX_FADV_DONTNEED);
		}
		w->dropped = w->flushed;
	}
	w->flushed = w->written;
	return 0;
}

static int fw_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct file_writer *w = (struct file_writer *)s;
	while (n > 0) {
		ssize_t r = write(w->fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return io_error(E_STORE, "cannot write", w->partial, errno);
		}
		p += r;
		n -= (size_t)r;
		w->written += (uint64_t)r;
	}
	if (w->written - w->flushed >= FLUSH_EVERY)
		return stream_out(w);
	return 0;
}

static int fw_finish(struct stage *s)
{
	struct file_writer *w = (struct file_writer *)s;
	int rc;
	if (fsync(w->fd) != 0)
		return io_error(E_STORE, "cannot sync", w->partial, errno);
	if (close(w->fd) != 0) {
		w->fd = -1;
		return io_error(E_STORE, "cannot close", w->partial, errno);
	}
	w->fd = -1;
	if (w->create)
		rc = rename_noreplace(w->partial, w->path);
	else if ((rc = rename(w->partial, w->path)) != 0)
		rc = io_error(E_STORE, "cannot rename into place", w->path, errno);
	if (rc)
		return rc;
	if ((rc = fsync_dir_of(w->path))) {
		/* Not durable: the object must not look complete. */
		unlink(w->path);
		w->done = 1; /* the temporary name is gone already */
		return rc;
	}
	w->done = 1;
	return stage_finish_next(s);
}

static void fw_free(struct stage *s)
{
	struct file_writer *w = (struct file_writer *)s;
	if (w->fd >= 0)
		close(w->fd);
	if (!w->done)
		unlink(w->partial);
	free(w->path);
	free(w->partial);
	free(w);
}

static const struct stage_ops file_writer_ops = {"file-writer", fw_write, fw_finish, fw_free};

static int file_writer(struct store *st, const char *key, unsigned flags, struct stage **out)
{
	struct file_store *fs = (struct file_store *)st;
	char *path = path_of(fs, key);
	int rc = make_parents(fs, path);
	if (rc) {
		free(path);
		return rc;
	}
	sweep_dead_partials(path);
	char *partial = NULL;
	int fd = create_partial(&partial, path);
	if (fd < 0) {
		free(path);
		return fd;
	}
	struct file_writer *w = xcalloc(1, sizeof(*w));
	w->base.ops = &file_writer_ops;
	w->st = fs;
	w->path = path;
	w->partial = partial;
	w->fd = fd;
	w->create = (flags & STORE_CREATE) != 0;
	*out = &w->base;
	return 0;
}

static int file_read(struct store *st, const char *key, struct stage *sink)
{
	struct file_store *fs = (struct file_store *)st;
	char *path = path_of(fs, key);
	uint8_t *chunk = NULL;
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? err_set(E_NOTFOUND, "%s does not exist", path)
				     : io_error(E_STORE, "cannot open", path, errno);
		goto done;
	}
	chunk = xmalloc(READ_CHUNK);
	for (;;) {
		ssize_t r = read(fd, chunk, READ_CHUNK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = io_error(E_STORE, "cannot read", path, errno);
			goto done;
		}
		if (r == 0)
			break;
		if ((rc = stage_write(sink, chunk, (size_t)r)))
			goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	free(chunk);
	free(path);
	return rc;
}

static int file_stat(struct store *st, const char *key, uint64_t *size)
{
	struct file_store *fs = (struct file_store *)st;
	char *path = path_of(fs, key);
	struct stat sb;
	int rc = 0;
	if (stat(path, &sb) != 0)
		rc = errno == ENOENT ? err_set(E_NOTFOUND, "%s does not exist", path)
				     : io_error(E_STORE, "cannot stat", path, errno);
	else
		*size = (uint64_t)sb.st_size;
	free(path);
	return rc;
}

/* Recursive walk below dir; keys are paths relative to the root. */
static int walk(struct file_store *fs, const char *dir, store_list_cb cb, void *ud)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : io_error(E_STORE, "cannot list", dir, errno);
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		struct stat sb;
		if (lstat(path, &sb) == 0) {
			if (S_ISDIR(sb.st_mode)) {
				rc = walk(fs, path, cb, ud);
			} else if (S_ISREG(sb.st_mode)) {
				struct store_entry e = {path + strlen(fs->root) + 1,
							(uint64_t)sb.st_size};
				rc = cb(&e, ud);
			}
		}
		free(path);
	}
	closedir(d);
	return rc;
}

static int file_list(struct store *st, const char *prefix, store_list_cb cb, void *ud)
{
	struct file_store *fs = (struct file_store *)st;
	/* The prefix is a folder path ("ns/" or ""): walk that folder. */
	char *dir = prefix && *prefix ? xasprintf("%s/%s", fs->root, prefix) : xstrdup(fs->root);
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	int rc = walk(fs, dir, cb, ud);
	free(dir);
	return rc;
}

static int file_remove(struct store *st, const char *key)
{
	struct file_store *fs = (struct file_store *)st;
	char *path = path_of(fs, key);
	int rc = 0;
	if (unlink(path) != 0 && errno != ENOENT)
		rc = io_error(E_STORE, "cannot delete", path, errno);
	/* Remove emptied folders up to (not including) the root. */
	for (char *slash;
	     !rc && (slash = strrchr(path, '/')) && (size_t)(slash - path) > strlen(fs->root);) {
		*slash = '\0';
		if (rmdir(path) != 0)
			break;
	}
	free(path);
	return rc;
}

/* A file of any size; FLUSH_EVERY is the unit a test's part limit counts. */
static void file_limits(const struct store *st, struct store_limits *out)
{
	(void)st;
	*out = (struct store_limits){FLUSH_EVERY, 0, 0, 0, "unit"};
}

const struct store_ops store_file_ops = {
    .scheme = "file",
    .open = file_open,
    .writer = file_writer,
    .read = file_read,
    .stat = file_stat,
    .list = file_list,
    .remove = file_remove,
    .limits = file_limits,
    .free = file_free,
};
