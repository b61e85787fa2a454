/* fileops.c: file handles, whole-file and directory ops, tail_file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "events/mp.h"

static const char *
entry_type(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "directory";
	if (S_ISLNK(m))
		return "symlink";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISBLK(m))
		return "block_device";
	if (S_ISCHR(m))
		return "char_device";
	return "other";
}

static int
find_fd(struct agent *a, struct req *r, const msgpack_object *d)
{
	uint64_t id = 0;
	struct handle *h;

	mp_get_u64(d, "handle", &id);
	h = handle_find(a, id);
	if (h == NULL || h->type != H_FILE) {
		req_fail(a, r, "unknown_handle", "file#%llu: no such handle",
		    (unsigned long long)id);
		return -1;
	}
	return h->fd;
}

static void
op_open(struct agent *a, struct req *r, struct args *g)
{
	const msgpack_object *m = arg_get(g, "mode");
	struct args mg;
	bool rd, wr, cr, tr, ap, ex;
	uint64_t perm;
	char *path;
	int fl, fd;
	struct handle *h;
	msgpack_packer *pk;

	path = arg_str(g, "path", NULL, true);
	perm = arg_u64(g, "create_perm", 0644, false);
	if (m != NULL && m->type != MSGPACK_OBJECT_MAP)
		args_bad(g, "field `mode` must be a map");
	args_init(&mg, m, "open_file");
	rd = arg_bool(&mg, "read", false);
	wr = arg_bool(&mg, "write", false);
	cr = arg_bool(&mg, "create", false);
	tr = arg_bool(&mg, "truncate", false);
	ap = arg_bool(&mg, "append", false);
	ex = arg_bool(&mg, "exclusive", false);
	if (mg.bad)
		args_bad(g, "%s", mg.msg + strlen("open_file: "));
	if (perm > 07777)
		args_bad(g, "create_perm %llo is over 07777",
		    (unsigned long long)perm);
	if (args_reject(a, r, g))
		return;
	if (!rd && !wr && !ap) {
		req_err(a, r, EINVAL,
		    "open_file: mode needs one of read, write, append");
		return;
	}
	fl = (rd && (wr || ap)) ? O_RDWR : rd ? O_RDONLY : O_WRONLY;
	fl |= O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	if (cr)
		fl |= O_CREAT;
	if (tr)
		fl |= O_TRUNC;
	if (ap)
		fl |= O_APPEND;
	if (ex)
		fl |= O_EXCL | O_CREAT;
	fd = open(path, fl, (mode_t)perm);
	if (fd < 0) {
		req_oserr(a, r, errno, path);
		return;
	}
	h = handle_new(a, H_FILE);
	h->fd = fd;
	pk = req_ok_begin(a, r);
	msgpack_pack_map(pk, 1);
	mp_kv_u64(pk, "handle", h->id);
	req_finish(a, r);
}

static void
op_handle(struct agent *a, struct req *r, struct args *g,
    const msgpack_object *d)
{
	msgpack_packer *pk;
	uint64_t hid = 0;
	int fd;

	mp_get_u64(d, "handle", &hid);
	if (strcmp(r->kind, "read") == 0) {
		uint64_t max = arg_u64(g, "max_bytes", 0, true);
		uint8_t *buf;
		ssize_t n;

		if (args_reject(a, r, g) || (fd = find_fd(a, r, d)) < 0)
			return;
		if (max > AGENT_READ_MAX)
			max = AGENT_READ_MAX;
		buf = malloc(max ? max : 1);
		do
			n = read(fd, buf, max);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			char subj[32];

			snprintf(subj, sizeof(subj), "file#%llu",
			    (unsigned long long)hid);
			req_oserr(a, r, errno, subj);
		} else {
			pk = req_ok_begin(a, r);
			msgpack_pack_map(pk, 1);
			mp_kv_bin(pk, "data", buf, (size_t)n);
			req_finish(a, r);
		}
		free(buf);
	} else if (strcmp(r->kind, "write") == 0) {
		const char *p;
		size_t n, off = 0;

		arg_bin(g, "data", &p, &n, true);
		if (args_reject(a, r, g) || (fd = find_fd(a, r, d)) < 0)
			return;
		while (off < n) {
			ssize_t k = write(fd, p + off, n - off);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			off += (size_t)k;
		}
		if (off < n && off == 0) {
			char subj[32];

			snprintf(subj, sizeof(subj), "file#%llu",
			    (unsigned long long)hid);
			req_oserr(a, r, errno, subj);
			return;
		}
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 1);
		mp_kv_u64(pk, "written", off);
		req_finish(a, r);
	} else if (strcmp(r->kind, "seek") == 0) {
		int64_t off = arg_i64(g, "offset", 0, true);
		const char *wh = arg_str(g, "whence", "set", false);
		int w = -1;
		off_t pos;

		if (wh != NULL)
			w = strcmp(wh, "set") == 0 ? SEEK_SET :
			    strcmp(wh, "cur") == 0 ? SEEK_CUR :
			    strcmp(wh, "end") == 0 ? SEEK_END : -1;
		if (!g->bad && w < 0) {
			req_fail(a, r, "bad_request",
			    "whence must be set/cur/end");
			return;
		}
		if (args_reject(a, r, g) || (fd = find_fd(a, r, d)) < 0)
			return;
		pos = lseek(fd, off, w);
		if (pos < 0) {
			char subj[32];

			snprintf(subj, sizeof(subj), "file#%llu",
			    (unsigned long long)hid);
			req_oserr(a, r, errno, subj);
			return;
		}
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 1);
		mp_kv_u64(pk, "offset", (uint64_t)pos);
		req_finish(a, r);
	} else if (strcmp(r->kind, "close") == 0) {
		struct handle *h;

		if ((fd = find_fd(a, r, d)) < 0)
			return;
		h = handle_find(a, hid);
		close(fd);
		handle_del(a, h);
		req_ok_nil(a, r);
	} else {                /* fd_stream */
		struct stream *s;
		struct stat st;
		int nfd;

		if ((fd = find_fd(a, r, d)) < 0)
			return;
		/* A dup shares the offset; reopening /proc/self/fd does not. */
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nfd < 0 || fstat(nfd, &st) != 0) {
			req_oserr(a, r, errno, "fd");
			if (nfd >= 0)
				close(nfd);
			return;
		}
		s = stream_new(a, r->id, S_FD);
		s->fd = nfd;
		s->regular = S_ISREG(st.st_mode);
		s->pos = s->regular ? lseek(nfd, 0, SEEK_CUR) : 0;
		s->next_ms = agent_now_ms();
		req_ok_nil(a, r);
	}
}

static void
op_read_file(struct agent *a, struct req *r, const char *path)
{
	struct stat st;
	msgpack_packer *pk;
	uint8_t *buf;
	size_t got = 0, size;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || fstat(fd, &st) != 0) {
		req_oserr(a, r, errno, path);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (st.st_size > (off_t)AGENT_READFILE_MAX) {
		req_err(a, r, EFBIG, "read_file %s: file is %lld bytes, over "
		    "the 96 MiB limit; use open_file + read or tail_file",
		    path, (long long)st.st_size);
		close(fd);
		return;
	}
	/* st_size is 0 for /proc files: read until EOF, up to the cap + 1. */
	size = (size_t)st.st_size + 65536;
	if (size > AGENT_READFILE_MAX + 1)
		size = AGENT_READFILE_MAX + 1;
	buf = malloc(size);
	while (buf != NULL) {
		ssize_t n;

		if (got == size) {
			uint8_t *nb;

			if (size > AGENT_READFILE_MAX)
				break;
			size = size * 2 > AGENT_READFILE_MAX + 1 ?
			    AGENT_READFILE_MAX + 1 : size * 2;
			nb = realloc(buf, size);
			if (nb == NULL)
				break;
			buf = nb;
		}
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			req_oserr(a, r, errno, path);
			free(buf);
			close(fd);
			return;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (buf == NULL) {
		req_oserr(a, r, ENOMEM, path);
		close(fd);
		return;
	}
	close(fd);
	if (got > AGENT_READFILE_MAX) {
		req_err(a, r, EFBIG, "read_file %s: file is over the 96 MiB "
		    "limit; use open_file + read or tail_file", path);
		free(buf);
		return;
	}
	pk = req_ok_begin(a, r);
	msgpack_pack_map(pk, 1);
	mp_kv_bin(pk, "data", buf, got);
	req_finish(a, r);
	free(buf);
}

static void
op_write_file(struct agent *a, struct req *r, struct args *g, char *path)
{
	const char *data, *mode;
	size_t n, off = 0;
	uint64_t perm;
	int fl = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, fd;

	arg_bin(g, "data", &data, &n, true);
	mode = arg_str(g, "mode", "replace", false);
	perm = arg_u64(g, "create_perm", 0644, false);
	if (mode != NULL && strcmp(mode, "replace") == 0)
		fl |= O_TRUNC;
	else if (mode != NULL && strcmp(mode, "append") == 0)
		fl |= O_APPEND;
	else if (mode != NULL && strcmp(mode, "create_new") == 0)
		fl |= O_EXCL;
	else
		args_bad(g, "mode must be replace, append or create_new");
	if (args_reject(a, r, g))
		return;
	fd = open(path, fl, (mode_t)(perm & 07777));
	if (fd < 0) {
		req_oserr(a, r, errno, path);
		return;
	}
	while (off < n) {
		ssize_t k = write(fd, data + off, n - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			req_oserr(a, r, errno, path);
			close(fd);
			return;
		}
		off += (size_t)k;
	}
	if (close(fd) != 0) {
		req_oserr(a, r, errno, path);
		return;
	}
	req_ok_nil(a, r);
}

static int
mkdir_p(char *path, mode_t perm)
{
	char *p;
	struct stat st;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, perm) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, perm) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return -1;
}

static int
name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static void
op_listdir(struct agent *a, struct req *r, const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	msgpack_packer *pk;

	if (dir == NULL) {
		req_oserr(a, r, errno, path);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	qsort(names, n, sizeof(*names), name_cmp);
	pk = req_ok_begin(a, r);
	msgpack_pack_array(pk, (uint32_t)n);
	for (i = 0; i < n; i++) {
		struct stat st;
		const char *t = "other";

		if (fstatat(dirfd(dir), names[i], &st,
		    AT_SYMLINK_NOFOLLOW) == 0)
			t = entry_type(st.st_mode);
		msgpack_pack_map(pk, 2);
		mp_kv_str(pk, "name", names[i]);
		mp_kv_str(pk, "entry_type", t);
		free(names[i]);
	}
	free(names);
	closedir(dir);
	req_finish(a, r);
}

static void
op_tail(struct agent *a, struct req *r, struct args *g, const char *path)
{
	const msgpack_object *st = arg_get(g, "start");
	int64_t off = 0;
	int mode = 1;           /* 0 beginning, 1 end, 2 offset */
	struct stat sb;
	struct stream *s;
	msgpack_packer *pk;
	int fd;

	if (st == NULL || mp_obj_is_str(st, "end")) {
		mode = 1;
	} else if (mp_obj_is_str(st, "beginning")) {
		mode = 0;
	} else if (st->type == MSGPACK_OBJECT_MAP && mp_get(st, "offset") &&
	    mp_obj_i64(mp_get(st, "offset"), &off) == 0) {
		mode = 2;
	} else if (mp_obj_i64(st, &off) == 0) {
		mode = 2;               /* a bare integer is an offset too */
	} else {
		args_bad(g, "start must be \"beginning\", \"end\" or "
		    "{offset = n}");
	}
	if (args_reject(a, r, g))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		req_oserr(a, r, errno, path);
		if (fd >= 0)
			close(fd);
		return;
	}
	s = stream_new(a, r->id, S_TAIL);
	s->fd = fd;
	s->regular = true;
	if (mode == 0)
		s->pos = 0;
	else if (mode == 1)
		s->pos = sb.st_size;
	else if (off < 0)
		s->pos = -off > sb.st_size ? 0 : sb.st_size + off;
	else
		s->pos = off > sb.st_size ? sb.st_size : off;
	s->next_ms = agent_now_ms();
	pk = req_ok_begin(a, r);
	msgpack_pack_map(pk, 1);
	mp_kv_u64(pk, "offset", (uint64_t)s->pos);
	req_finish(a, r);
}

void
file_op(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	const char *k = r->kind;
	char *path = NULL;
	msgpack_packer *pk;

	args_init(&g, d, k);
	if (strcmp(k, "open_file") == 0) {
		op_open(a, r, &g);
		goto out;
	}
	if (strcmp(k, "read") == 0 || strcmp(k, "write") == 0 ||
	    strcmp(k, "seek") == 0 || strcmp(k, "close") == 0 ||
	    strcmp(k, "fd_stream") == 0) {
		op_handle(a, r, &g, d);
		goto out;
	}
	path = arg_str(&g, strcmp(k, "rename") == 0 ? "from" : "path", NULL,
	    true);
	if (strcmp(k, "write_file") == 0) {
		op_write_file(a, r, &g, path);
	} else if (strcmp(k, "tail_file") == 0) {
		op_tail(a, r, &g, path);
	} else if (args_reject(a, r, &g)) {
		return;
	} else if (strcmp(k, "read_file") == 0) {
		op_read_file(a, r, path);
	} else if (strcmp(k, "listdir") == 0) {
		op_listdir(a, r, path);
	} else if (strcmp(k, "stat") == 0) {
		struct stat st;
		bool follow = arg_bool(&g, "follow_symlinks", true);
		int rc = follow ? stat(path, &st) : lstat(path, &st);

		if (args_reject(a, r, &g))
			return;
		if (rc != 0) {
			req_oserr(a, r, errno, path);
			goto out;
		}
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 4);
		mp_kv_u64(pk, "size", (uint64_t)st.st_size);
		mp_kv_i64(pk, "mtime_ns", (int64_t)st.st_mtim.tv_sec *
		    1000000000 + st.st_mtim.tv_nsec);
		mp_kv_u64(pk, "perm", st.st_mode & 07777);
		mp_kv_str(pk, "entry_type", entry_type(st.st_mode));
		req_finish(a, r);
	} else if (strcmp(k, "mkdir") == 0) {
		bool parents = arg_bool(&g, "parents", false);
		uint64_t perm = arg_u64(&g, "create_perm", 0755, false);
		int rc;

		if (args_reject(a, r, &g))
			return;
		rc = parents ? mkdir_p(path, (mode_t)(perm & 07777)) :
		    mkdir(path, (mode_t)(perm & 07777));
		if (rc != 0)
			req_oserr(a, r, errno, path);
		else
			req_ok_nil(a, r);
	} else if (strcmp(k, "unlink") == 0) {
		struct stat st;
		int rc = lstat(path, &st) == 0 && S_ISDIR(st.st_mode) ?
		    rmdir(path) : unlink(path);

		if (rc != 0)
			req_oserr(a, r, errno, path);
		else
			req_ok_nil(a, r);
	} else {                /* rename */
		char *to = arg_str(&g, "to", NULL, true);

		if (args_reject(a, r, &g))
			return;
		if (rename(path, to) != 0)
			req_oserr(a, r, errno, path);
		else
			req_ok_nil(a, r);
	}
out:
	args_free(&g);
}

void
file_close_all(struct agent *a)
{
	struct handle *h;

	for (h = a->handles; h != NULL; h = h->next) {
		if (h->type == H_FILE && h->fd >= 0) {
			close(h->fd);
			h->fd = -1;
		}
	}
}
