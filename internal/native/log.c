/*
 * pmon3-log: a small per-instance logger (like s6-log or multilog). It reads a
 * program's output from stdin (a pipe) and appends it to BASE in a directory it
 * was handed as an open fd, rotating BASE to BASE.1, BASE.2, ... by size, by
 * time or on a signal.
 *
 *   pmon3-log --dir-fd N|--dir PATH --name BASE [--size BYTES] [--keep K] [--every SECONDS]
 *             [--timestamps] [--compress] [--max-total BYTES] [--owner UID:GID]
 *             [--mode OCTAL]
 *
 * The rules it keeps, and why:
 *
 * Lines. A rotation only ever happens at a line boundary, so that a line is never
 * split across two files (a reader of one file sees whole lines). The one
 * exception: a line longer than the read buffer (IN_SZ, 64 KiB) is written in
 * pieces as it arrives (the buffer is fixed), and when the file is full by then,
 * the rest of that line goes to the next file. So a file ends past --size by at most
 * one line, or by less than IN_SZ where a long line was split. A last line without a
 * newline is kept in the buffer until its newline or EOF.
 *
 * Files. pmond may run this as root in a directory its user owns, and the user may
 * swap anything in that directory at any time. So every file operation is relative
 * to the directory fd (openat, renameat, unlinkat, fstatat: never a path joined
 * from strings), nothing is followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW), nothing is
 * opened before it was seen (fstatat) to be a regular file, and nothing is written
 * or read unless fstat on the open fd says it is a regular file with one link (the
 * same inode that was seen). A BASE that is not such a file (a symlink, a FIFO, a
 * hard link to some other file, ...) is unlinked -- the name, never what it points
 * to -- and created afresh; a directory is refused (input dropped, retried each
 * second). Rotation renames names only (a symlink planted as BASE.3 is moved or
 * removed as a link); only plain files are ever opened for compression. An existing
 * plain BASE is appended to whoever owns it: with one link it is this directory's
 * file, which its owner could write anyway. Created files get --mode exactly (fchmod) and, with --owner,
 * that owner (fchown of the new fd); an existing file is never chowned.
 *
 * Compression (--compress). A rotated BASE.1 is gzip-compressed (deflate with a
 * gzip header, windowBits 31) to BASE.1.gz by a forked child, so stdin is read
 * while it works (the simplest way that never stalls reading: compressing in small
 * chunks in this loop would cost the same CPU between reads, and the pipe -- raised
 * to 1 MiB with F_SETPIPE_SZ where allowed -- is all that buffers). The child gets both fds already open (the source BASE.1 and a
 * temp file .BASE.gz-tmp, created by this process), writes, fdatasyncs and exits.
 * Only this process renames: when the child has exited 0 it renames the temp file
 * to BASE.J.gz (J: where that file is now, after the rotations that happened
 * meanwhile) and unlinks BASE.J. One child at a time; files rotated meanwhile are
 * compressed next. A crash leaves at worst an uncompressed BASE.J (compressed at
 * the next start) or both BASE.J and a complete BASE.J.gz (the plain one is removed
 * at the next start). At EOF the logger waits for the compressions still pending.
 * --max-total counts a file being compressed at its plain size; the .gz being written
 * counts once it has replaced it. Under a flood faster than compression, the newest
 * rotated files are compressed first (the oldest are the next to be removed anyway).
 *
 * Disk trouble never blocks the writer: when a write fails (ENOSPC, EIO, EDQUOT,
 * ...) the logger keeps reading stdin and drops what it cannot write, counting
 * bytes (as they would have been written, timestamps included); it tries again at
 * most once a second, and the first thing written when a write succeeds again is
 * the line "pmon3-log: dropped N bytes (REASON)". --max-total drops the same way
 * (REASON "max-total") when the current file alone would pass the limit; room for
 * that marker line is kept free (MARKER_ROOM) so that it fits at EOF.
 *
 * Signals. SIGHUP or SIGUSR1: rotate now (at the next line boundary; an empty
 * file is not rotated). SIGTERM and SIGINT are ignored: the logger ends only at EOF
 * on stdin, i.e. once every writer (the program and its children) has closed the
 * pipe, so that a stopping program's last lines are written. SIGKILL it to stop it
 * otherwise. SIGHUP, SIGUSR1 and SIGCHLD are blocked and read from a signalfd beside
 * stdin: no call is ever interrupted, and a signal is seen under a flood too (ppoll
 * would not deliver one when stdin is ready at once).
 *
 * Memory: fixed buffers only; the process stays well under 2 MiB RSS whatever the
 * input (the compression child has its own memory). Exit status: 0 at EOF, 2 for a
 * bad command line (one line on stderr), 1 when stdin cannot be read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define IN_SZ (64 * 1024)      /* the read buffer: a line longer than this may be split */
#define MAX_KEEP 1000          /* --keep's bound (a rotation looks at each slot once) */
#define MAX_NAME 200           /* --name's bound: BASE + ".1000.gz" stays a valid file name */
#define TS_LEN 25              /* "2026-12-04T19:00:00.123Z " */
#define OUT_SZ (2 * IN_SZ)     /* timestamped lines are copied here: few big writes (a writev of
                                  * many small pieces costs the kernel 3x as much, measured) */
#define MARKER_ROOM 160        /* what --max-total keeps free for the dropped-bytes marker */
#define PIPE_SZ (1024 * 1024)  /* stdin's pipe buffer, raised when allowed: bursts wait there */
#define RETRY_MS 1000          /* after a failed write, open or rotation: the next try */
#define Z_CHUNK (64 * 1024)

/* ---- options ---- */

static struct {
  int dirfd;
  const char *name;
  long long size;      /* 0 = no size rotation */
  int keep;
  long long every_ms;  /* 0 = no time rotation */
  int timestamps;
  int compress;
  long long max_total; /* 0 = no bound */
  int has_owner;
  uid_t uid;
  gid_t gid;
  mode_t mode;
} o = { .dirfd = -1, .keep = 5, .mode = 0640 };

static void __attribute__((noreturn)) usage(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "pmon3-log: %s\n", msg);
  exit(2);
}

/* S as it may be shown in one line of stderr: control characters as '?', at most 64 bytes. */
static const char *shown(const char *s, int which) {
  static char buf[2][72];
  size_t n = 0;
  for (; *s && n < 64; s++, n++) buf[which][n] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
  memcpy(buf[which] + n, *s ? "..." : "", *s ? 4 : 1);
  return buf[which];
}

/* A decimal number, digits only (no sign, no spaces, no suffix), within [min, max]. */
static int number(const char *s, long long min, long long max, long long *out) {
  long long v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    if (v > (max - (*s - '0')) / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  if (v < min) return -1;
  *out = v;
  return 0;
}

static long long number_flag(const char *flag, const char *val, long long min, long long max) {
  long long v;
  if (number(val, min, max, &v) < 0) usage("%s %s: not a whole number in %lld..%lld", flag, shown(val, 1), min, max);
  return v;
}

/* BASE is one plain file name: never a path (no '/', not . or ..), nothing a terminal would act on. */
static void check_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MAX_NAME) usage("--name: must be 1..%d bytes", MAX_NAME);
  if (!strcmp(s, ".") || !strcmp(s, "..")) usage("--name %s: not a file name", s);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '/') usage("--name %s: must not contain '/'", shown(s, 1));
    if (*p < 0x20 || *p == 0x7f) usage("--name: must not contain control characters");
  }
}

static void parse_owner(const char *val) {
  const char *colon = strchr(val, ':');
  char uid[24];
  long long u, g;
  if (!colon || (size_t)(colon - val) >= sizeof uid) usage("--owner %s: not UID:GID", shown(val, 1));
  memcpy(uid, val, (size_t)(colon - val));
  uid[colon - val] = 0;
  /* (uid_t)-1 means "unchanged" to fchown: refused. */
  if (number(uid, 0, 4294967294LL, &u) < 0 || number(colon + 1, 0, 4294967294LL, &g) < 0)
    usage("--owner %s: not UID:GID (numbers)", shown(val, 1));
  o.has_owner = 1;
  o.uid = (uid_t)u;
  o.gid = (gid_t)g;
}

static void parse_mode(const char *val) {
  long long m = 0;
  if (!*val || strlen(val) > 4) usage("--mode %s: not an octal mode up to 0777", shown(val, 1));
  for (const char *p = val; *p; p++) {
    if (*p < '0' || *p > '7') usage("--mode %s: not an octal mode up to 0777", shown(val, 1));
    m = m * 8 + (*p - '0');
  }
  if (m > 0777) usage("--mode %s: not an octal mode up to 0777 (no set-id or sticky bits)", shown(val, 1));
  o.mode = (mode_t)m;
}

static void parse_args(int argc, char **argv) {
  static const char *const flags[] = { "--dir-fd", "--name", "--size", "--keep", "--every", "--timestamps",
                                       "--compress", "--max-total", "--owner", "--mode", "--dir" };
  const char *dir = NULL;
  int seen[sizeof flags / sizeof *flags] = { 0 };
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    size_t f = 0;
    while (f < sizeof flags / sizeof *flags && strcmp(a, flags[f])) f++;
    if (f == sizeof flags / sizeof *flags) usage("%s: unknown flag", shown(a, 0));
    if (seen[f]++) usage("%s: given twice", a);
    if (f == 5) { o.timestamps = 1; continue; }
    if (f == 6) { o.compress = 1; continue; }
    if (i + 1 >= argc) usage("%s: missing value", a);
    const char *v = argv[++i];
    switch (f) {
      case 0: o.dirfd = (int)number_flag(a, v, 0, INT_MAX); break;
      case 1: check_name(v); o.name = v; break;
      case 2: o.size = number_flag(a, v, 1, 1LL << 60); break;
      case 3: o.keep = (int)number_flag(a, v, 1, MAX_KEEP); break;
      case 4: o.every_ms = number_flag(a, v, 1, 100LL * 365 * 86400) * 1000; break;
      case 7: o.max_total = number_flag(a, v, 4 * MARKER_ROOM, 1LL << 60); break;
      case 8: parse_owner(v); break;
      case 9: parse_mode(v); break;
      case 10: dir = v; break;
    }
  }
  if (dir) {
    /*
     * --dir PATH (pmond's way: its exec helper passes no extra fd): opened once, here, with this
     * process's rights (pmond runs it as the instance's user, or as itself only inside its own
     * logs_dir); from then on everything is relative to that fd, as with --dir-fd.
     */
    if (o.dirfd >= 0) usage("--dir and --dir-fd: give one");
    if (dir[0] != '/') usage("--dir %s: not an absolute path", shown(dir, 0));
    o.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (o.dirfd < 0 && errno == ENOENT) {
      /* The log's missing parents made with this process's rights (0755), as pmon3-exec does for a
       * direct log: pmond runs it as the user whose log it is; the one it runs as root for another
       * user's log is given pmond's own directory in logs_dir, which pmond made. */
      char p[PATH_MAX];
      if (strlen(dir) >= sizeof p) usage("--dir: too long");
      strcpy(p, dir);
      for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) break;
        *q = '/';
      }
      if (mkdir(p, 0755) < 0 && errno != EEXIST) usage("--dir %s: %s", shown(dir, 0), strerror(errno));
      o.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (o.dirfd < 0) usage("--dir %s: %s", shown(dir, 0), strerror(errno));
  }
  if (o.dirfd < 0) usage("--dir-fd: missing (the log directory, an open fd)");
  if (!o.name) usage("--name: missing (the log file's name)");
  struct stat st;
  if (fstat(o.dirfd, &st) < 0 || !S_ISDIR(st.st_mode)) usage("--dir-fd %d: not an open directory", o.dirfd);
  fcntl(o.dirfd, F_SETFD, FD_CLOEXEC);
}

/* ---- small helpers ---- */

static long long mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One complaint per episode on stderr (pmond's), never one per line of input. */
static void say(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "pmon3-log: %s: %s\n", o.name, msg);
}

/* BASE.IDX, BASE.IDX.gz, or BASE itself (idx 0). */
static const char *slot_name(char *buf, int idx, int gz) {
  if (idx == 0) snprintf(buf, 256, "%s", o.name);
  else snprintf(buf, 256, "%s.%d%s", o.name, idx, gz ? ".gz" : "");
  return buf;
}

static const char *tmp_name(char *buf) {
  snprintf(buf, 256, ".%s.gz-tmp", o.name);
  return buf;
}

static char ts[TS_LEN + 1]; /* the time of the last read: every line completed by it gets this prefix */

/* N as W decimal digits (zero-padded) at P. */
static char *digits(char *p, long n, int w) {
  for (int i = w - 1; i >= 0; i--, n /= 10) p[i] = (char)('0' + n % 10);
  return p + w;
}

/* RFC 3339, UTC, milliseconds: by hand, fixed width (no locale, no snprintf per read). */
static void stamp_now(void) {
  struct timespec t;
  struct tm tm;
  char *p = ts;
  clock_gettime(CLOCK_REALTIME, &t);
  gmtime_r(&t.tv_sec, &tm);
  p = digits(p, tm.tm_year + 1900L, 4), *p++ = '-';
  p = digits(p, tm.tm_mon + 1, 2), *p++ = '-';
  p = digits(p, tm.tm_mday, 2), *p++ = 'T';
  p = digits(p, tm.tm_hour, 2), *p++ = ':';
  p = digits(p, tm.tm_min, 2), *p++ = ':';
  p = digits(p, tm.tm_sec, 2), *p++ = '.';
  p = digits(p, t.tv_nsec / 1000000, 3), *p++ = 'Z';
  *p++ = ' ';
  *p = 0;
}

/* Writes all of iov[0..n), looping on partial writes and EINTR. Returns the bytes written;
 * fewer than asked means the write failed (errno says why). iov is consumed. */
static long long write_iov(int fd, struct iovec *iov, int n) {
  long long done = 0;
  while (n > 0) {
    ssize_t w = writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return done;
    }
    done += w;
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return done;
}

/* ---- opening files safely (see "Files" above) ---- */

/* A file we may write or read: a regular file with one link (a second link could be a
 * file outside the directory that the user has hard-linked in). */
static int plain_file(const struct stat *st) {
  return S_ISREG(st->st_mode) && st->st_nlink == 1;
}

/* A file this process creates: exactly --mode, and --owner's. */
static void own_new(int fd, const char *name) {
  if (fchmod(fd, o.mode) < 0) say("fchmod %s: %s", name, strerror(errno));
  if (o.has_owner && fchown(fd, o.uid, o.gid) < 0) say("fchown %s: %s", name, strerror(errno));
}

/* Creates NAME (which must not exist: O_EXCL never follows or reuses anything). */
static int create_new(const char *name, int flags) {
  int fd = openat(o.dirfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, o.mode);
  if (fd >= 0) own_new(fd, name);
  return fd;
}

/* Opens an existing NAME only if it is (and stays, from fstatat to the open fd) a plain file.
 * O_NONBLOCK: a FIFO swapped in between fstatat and open must not block us. Returns the fd,
 * -1 with errno ENOENT if it is not there, -1 with errno EPERM if it is something else. */
static int open_plain(const char *name, int flags, struct stat *st) {
  struct stat before;
  if (fstatat(o.dirfd, name, &before, AT_SYMLINK_NOFOLLOW) < 0) return -1;
  if (!plain_file(&before)) return errno = EPERM, -1;
  int fd = openat(o.dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return errno == ELOOP || errno == ENXIO ? (errno = EPERM, -1) : -1;
  if (fstat(fd, st) < 0 || !plain_file(st) || st->st_ino != before.st_ino || st->st_dev != before.st_dev) {
    close(fd);
    return errno = EPERM, -1;
  }
  fcntl(fd, F_SETFL, flags & O_APPEND); /* O_NONBLOCK off again */
  return fd;
}

/* ---- the current file ---- */

static int cur_fd = -1;
static long long cur_size;
static int cur_nl = 1;     /* the current file ends with a newline (or is empty) */
static int mid_line;       /* a piece of a line longer than IN_SZ is written, its end is still to come */
static int rotate_req;     /* SIGHUP/SIGUSR1 or --every: rotate at the next line boundary */
static long long dropped;  /* bytes dropped since the last marker */
static char drop_reason[128];
static int full;           /* --max-total: the current file has no room left; dropping until a rotation */
static int failing;        /* writes fail: drop until retry_at */
static int complained;     /* this episode of failures is on stderr already */
static long long retry_at;

/* Something went wrong writing or opening: drop from now on, try again in RETRY_MS. */
static void fail(const char *what, int err) {
  if (!complained) say("%s: %s (dropping input, retrying each second)", what, strerror(err));
  complained = 1;
  if (!drop_reason[0]) snprintf(drop_reason, sizeof drop_reason, "%s: %s", what, strerror(err));
  failing = 1;
  retry_at = mono_ms() + RETRY_MS;
}

static void drop(long long n, const char *reason) {
  dropped += n;
  if (!drop_reason[0]) snprintf(drop_reason, sizeof drop_reason, "%s", reason);
}

/* Opens BASE for appending, creating it if needed. What is there but is not a plain file
 * is unlinked (the name only) and replaced; a directory is refused. */
static int open_current(void) {
  int flags = O_WRONLY | O_APPEND;
  for (int tries = 0; tries < 4; tries++) {
    struct stat st;
    int fd = create_new(o.name, flags);
    if (fd >= 0) {
      cur_fd = fd, cur_size = 0, cur_nl = 1;
      return 0;
    }
    if (errno != EEXIST) return fail("create", errno), -1;
    fd = open_plain(o.name, flags, &st);
    if (fd >= 0) {
      cur_fd = fd, cur_size = st.st_size, cur_nl = 1; /* an existing file: appended to as it is */
      return 0;
    }
    if (errno == ENOENT) continue; /* gone meanwhile: create it */
    if (errno != EPERM) return fail("open", errno), -1;
    if (unlinkat(o.dirfd, o.name, 0) < 0 && errno != ENOENT) return fail("not a plain file, not removable", errno), -1;
    say("replaced something that was not a plain file (symlink, FIFO, hard link, ...)");
  }
  return fail("open", EAGAIN), -1;
}

/* ---- rotated files: BASE.1 (newest) .. BASE.keep ---- */

enum { HAS_PLAIN = 1, HAS_GZ = 2, PLAIN_FILE = 4 };
static unsigned char slot[MAX_KEEP + 2];
static long long slot_size[MAX_KEEP + 2];
static long long rot_total; /* the rotated files' bytes (what --max-total counts besides BASE) */

static int sig_fd = -1; /* SIGHUP, SIGUSR1, SIGCHLD: blocked, read from here (see "Signals") */
static pid_t zpid;   /* the compression child, 0 = none */
static int zidx;     /* where the file it compresses is now (0 = gone: its result is discarded) */
static int zfailed;  /* a compression failed: no new one until the next rotation */

/* What is in slot I now (fstatat, nothing followed). Only regular files count as bytes. */
static void look(int i) {
  char n[256];
  struct stat st;
  slot[i] = 0;
  slot_size[i] = 0;
  if (fstatat(o.dirfd, slot_name(n, i, 0), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    slot[i] |= HAS_PLAIN | (plain_file(&st) ? PLAIN_FILE : 0);
    if (S_ISREG(st.st_mode)) slot_size[i] += st.st_size;
  }
  if (fstatat(o.dirfd, slot_name(n, i, 1), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    slot[i] |= HAS_GZ;
    if (S_ISREG(st.st_mode)) slot_size[i] += st.st_size;
  }
}

static void scan(void) {
  rot_total = 0;
  for (int i = 1; i <= o.keep; i++) {
    look(i);
    rot_total += slot_size[i];
  }
}

static void remove_slot(int i) {
  char n[256];
  if (slot[i] & HAS_PLAIN) unlinkat(o.dirfd, slot_name(n, i, 0), 0);
  if (slot[i] & HAS_GZ) unlinkat(o.dirfd, slot_name(n, i, 1), 0);
  if (zpid && zidx == i) {
    kill(zpid, SIGKILL); /* its source is gone: its result would be discarded anyway */
    zidx = 0;
  }
  rot_total -= slot_size[i];
  slot[i] = 0;
  slot_size[i] = 0;
}

/* Moves slot I to I+1 (renameat moves names: a symlink stays a symlink, pointing where it did). */
static void shift_slot(int i) {
  char from[256], to[256];
  for (int gz = 0; gz <= 1; gz++)
    if (slot[i] & (gz ? HAS_GZ : HAS_PLAIN)) renameat(o.dirfd, slot_name(from, i, gz), o.dirfd, slot_name(to, i + 1, gz));
  slot[i + 1] = slot[i];
  slot_size[i + 1] = slot_size[i];
  slot[i] = 0;
  slot_size[i] = 0;
  if (zpid && zidx == i) zidx = i + 1;
}

/* --max-total: removes the oldest rotated files until COST more bytes fit (or none is left).
 * Whether they fit now, with MARKER_ROOM kept free unless this is the marker itself. */
static int make_room(long long cost, int marker) {
  long long limit = o.max_total - (marker ? 0 : MARKER_ROOM);
  if (!o.max_total) return 1;
  for (int i = o.keep; i >= 1 && cur_size + rot_total + cost > limit; i--)
    if (slot[i]) remove_slot(i);
  return cur_size + cost <= limit;
}

/* ---- compression (in a child, see "Compression" above) ---- */

static unsigned char zin[Z_CHUNK], zout[Z_CHUNK]; /* touched by the child only */

static int write_all(int fd, const void *p, size_t n) {
  struct iovec iov = { (void *)p, n };
  return write_iov(fd, &iov, 1) == (long long)n ? 0 : -1;
}

/* The child's work: SRC gzip-compressed into DST. 0 when complete and on disk. */
static int gzip_fd(int src, int dst) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
  int flush = Z_NO_FLUSH, rc = 0;
  do {
    ssize_t n = read(src, zin, sizeof zin);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { rc = -1; break; }
    flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = zin;
    z.avail_in = (uInt)n;
    do {
      z.next_out = zout;
      z.avail_out = sizeof zout;
      deflate(&z, flush);
      if (write_all(dst, zout, sizeof zout - z.avail_out) < 0) rc = -1;
    } while (rc == 0 && z.avail_out == 0);
  } while (rc == 0 && flush != Z_FINISH);
  deflateEnd(&z);
  return rc == 0 && fdatasync(dst) == 0 ? 0 : -1;
}

/* Starts compressing slot I. Both fds are opened here, before the fork: the child never
 * looks a name up (the parent may rename while it works). */
static void start_compress(int i) {
  char n[256], t[256];
  struct stat st;
  int src = open_plain(slot_name(n, i, 0), O_RDONLY, &st);
  if (src < 0) return;
  unlinkat(o.dirfd, tmp_name(t), 0); /* a leftover of a crash, or something planted */
  int dst = create_new(t, O_WRONLY);
  if (dst < 0) {
    close(src);
    zfailed = 1;
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    /* Not stdin: a dead logger's child must not keep the program's pipe readable. */
    close(0);
    close(cur_fd);
    close(sig_fd);
    close(o.dirfd);
    _exit(gzip_fd(src, dst) == 0 ? 0 : 1);
  }
  close(src);
  close(dst);
  if (pid < 0) {
    unlinkat(o.dirfd, t, 0);
    zfailed = 1;
    return;
  }
  zpid = pid;
  zidx = i;
}

/* The newest rotated file still uncompressed, if any and no child is busy. */
static void compress_next(void) {
  if (!o.compress || zpid || zfailed) return;
  for (int i = 1; i <= o.keep; i++)
    if ((slot[i] & PLAIN_FILE) && !(slot[i] & HAS_GZ)) {
      start_compress(i);
      return;
    }
}

/* The child is done: its result replaces the file it compressed (where that file is now). */
static void compress_done(int status) {
  char n[256], t[256];
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && zidx > 0;
  zpid = 0;
  if (!ok) {
    unlinkat(o.dirfd, tmp_name(t), 0);
    if (zidx > 0) zfailed = 1; /* else discarded: its source was removed meanwhile */
    return compress_next();
  }
  if (renameat(o.dirfd, tmp_name(t), o.dirfd, slot_name(n, zidx, 1)) < 0) {
    unlinkat(o.dirfd, t, 0);
    zfailed = 1;
    return;
  }
  unlinkat(o.dirfd, slot_name(n, zidx, 0), 0);
  rot_total -= slot_size[zidx];
  look(zidx);
  rot_total += slot_size[zidx];
  compress_next();
}

static void reap(void) {
  int status;
  if (zpid && waitpid(zpid, &status, WNOHANG) == zpid) compress_done(status);
}

/* ---- rotation ---- */

static long long rotate_retry_at;

/* BASE becomes BASE.1 (the rest shift up, the oldest is removed) and a new BASE is opened.
 * Called only at a line boundary. An empty BASE is not rotated. */
static void rotate(void) {
  char n1[256];
  rotate_req = 0;
  if (cur_fd < 0) { /* nothing to rotate (BASE could not be opened): shifting would only lose old files */
    open_current();
    return;
  }
  if (cur_size == 0) return;
  if (rotate_retry_at && mono_ms() < rotate_retry_at) return;
  scan(); /* what is there now: the user may have removed or added files */
  if (slot[o.keep]) remove_slot(o.keep);
  for (int i = o.keep - 1; i >= 1; i--)
    if (slot[i]) shift_slot(i);
  if (renameat(o.dirfd, o.name, o.dirfd, slot_name(n1, 1, 0)) < 0 && errno != ENOENT) {
    say("rotate: rename to %s: %s (retrying in a second)", n1, strerror(errno));
    rotate_retry_at = mono_ms() + RETRY_MS;
    return;
  }
  rotate_retry_at = 0;
  close(cur_fd);
  cur_fd = -1;
  full = 0;
  look(1);
  rot_total += slot_size[1];
  zfailed = 0;
  open_current();
  compress_next();
}

/* ---- output ---- */

/* The "dropped" line, first thing written once writes work again (and at EOF). Its own line:
 * after a partial write it starts with a newline. Not written while --max-total has no room. */
static int write_marker(void) {
  char m[MARKER_ROOM];
  char last = '\n';
  if (o.timestamps) stamp_now();
  int len = snprintf(m, sizeof m, "%s%spmon3-log: dropped %lld bytes (%.64s)\n", cur_nl ? "" : "\n",
                     o.timestamps ? ts : "", dropped, drop_reason);
  if (len < 0 || len >= (int)sizeof m) return -1; /* cannot happen: MARKER_ROOM fits the longest */
  if (!make_room(len, 1)) return -1;
  struct iovec iov = { m, (size_t)len };
  long long w = write_iov(cur_fd, &iov, 1);
  cur_size += w;
  if (w > 0) last = m[w - 1];
  cur_nl = last == '\n';
  if (w < len) return fail("write", errno), -1;
  dropped = 0;
  drop_reason[0] = 0;
  complained = 0;
  return 0;
}

/* Whether a write may be tried now: not within a second of a failure, the file open, the
 * marker written. */
static int ready(void) {
  if (failing && mono_ms() < retry_at) return 0;
  failing = 0;
  if (cur_fd < 0 && open_current() < 0) return 0;
  if (dropped && write_marker() < 0) return 0;
  return 1;
}

/* Writes iov[0..n) (TOTAL bytes) to the current file, or drops it. */
static void out(struct iovec *iov, int n, long long total) {
  char end = ((const char *)iov[n - 1].iov_base)[iov[n - 1].iov_len - 1];
  if (!ready()) return drop(total, "write");
  long long w = write_iov(cur_fd, iov, n);
  cur_size += w;
  if (w == total) {
    cur_nl = end == '\n';
    complained = 0;
    return;
  }
  /* A partial write ends mid-line (the marker then starts on a line of its own). */
  if (w > 0) cur_nl = 0;
  fail("write", errno);
  drop(total - w, "write");
}

static struct iovec iov[1];
static char obuf[OUT_SZ];

/* Whole lines p[0..len) in one write; with --timestamps each gets the prefix,
 * copied with it into obuf and written when that is full (a line fits: IN_SZ + TS_LEN <= OUT_SZ). */
static void put_lines(const char *p, size_t len) {
  size_t n = 0;
  if (!o.timestamps) {
    iov[0] = (struct iovec){ (void *)p, len };
    return out(iov, 1, (long long)len);
  }
  for (const char *e = p + len; p < e;) {
    size_t l = (size_t)((const char *)memchr(p, '\n', (size_t)(e - p)) - p) + 1;
    if (n + TS_LEN + l > OUT_SZ) {
      iov[0] = (struct iovec){ obuf, n };
      out(iov, 1, (long long)n);
      n = 0;
    }
    memcpy(obuf + n, ts, TS_LEN);
    memcpy(obuf + n + TS_LEN, p, l);
    n += TS_LEN + l;
    p += l;
  }
  iov[0] = (struct iovec){ obuf, n };
  out(iov, 1, (long long)n);
}

static size_t line_len(const char *p, size_t len) {
  return (size_t)((const char *)memchr(p, '\n', len) - p) + 1;
}

/* Writes as many whole lines of p[0..len) as fit in the current file, at least the first
 * (rotating before it when it would pass --size: between two lines, the only place a file
 * ends). Returns the bytes consumed. */
static size_t put_batch(const char *p, size_t len) {
  const long long pre = o.timestamps ? TS_LEN : 0;
  size_t used = line_len(p, len);
  long long cost = (long long)used + pre;
  if (o.size && cur_size > 0 && cur_size + cost > o.size) rotate();
  if (full || !make_room(cost, 0)) { /* once full, a shorter line that would fit is dropped too: */
    full = 1;                          /* what is kept ends where the drop began, then the marker */
    drop(cost, "max-total");
    return used;
  }
  long long room = o.size ? o.size - cur_size : LLONG_MAX;
  if (o.max_total && o.max_total - MARKER_ROOM - cur_size - rot_total < room)
    room = o.max_total - MARKER_ROOM - cur_size - rot_total;
  if (!o.timestamps && (long long)len <= room) { /* the usual case: all of it, one write */
    put_lines(p, len);
    return len;
  }
  while (used < len) {
    size_t l = line_len(p + used, len - used);
    if (cost + (long long)l + pre > room) break;
    used += l;
    cost += (long long)l + pre;
  }
  put_lines(p, used);
  return used;
}

/* Whole lines p[0..len): the end of a long line first, if one is under way (no prefix; a
 * rotation before it only when the file is full), then batches, rotating on request only
 * between lines. */
static void put_whole(const char *p, size_t len) {
  while (len) {
    if (mid_line) {
      size_t l = line_len(p, len);
      if (o.size && cur_size >= o.size) rotate(); /* the split of a long line, as in put_piece */
      iov[0] = (struct iovec){ (void *)p, l };
      if (!full && make_room((long long)l, 0)) out(iov, 1, (long long)l);
      else full = 1, drop((long long)l, "max-total");
      mid_line = 0;
      p += l;
      len -= l;
      continue;
    }
    if (rotate_req) rotate();
    size_t used = put_batch(p, len);
    p += used;
    len -= used;
  }
}

/* A piece of a line without its newline: a line longer than IN_SZ (the buffer is full), or
 * the last line at EOF. The one place a line may be split across files: when the file is
 * already full by the time a long line's next piece arrives. */
static void put_piece(const char *p, size_t len) {
  struct iovec v[2];
  int n = 0;
  long long cost = (long long)len;
  if (!mid_line) {
    if (rotate_req || (o.size && cur_size > 0 && cur_size + cost + (o.timestamps ? TS_LEN : 0) > o.size)) rotate();
    if (o.timestamps) v[n++] = (struct iovec){ ts, TS_LEN }, cost += TS_LEN;
  } else if (o.size && cur_size >= o.size) {
    rotate();
  }
  mid_line = 1;
  if (full || !make_room(cost, 0)) return full = 1, drop(cost, "max-total");
  v[n++] = (struct iovec){ (void *)p, len };
  out(v, n, cost);
}

/* ---- the loop ---- */

static char inbuf[IN_SZ];
static size_t inlen;
static int read_failed;

/* Reads what stdin has into the buffer's free part. 1 at EOF (or a read error). */
static int fill(void) {
  ssize_t n = read(0, inbuf + inlen, IN_SZ - inlen);
  if (n > 0) {
    inlen += (size_t)n;
    if (o.timestamps) stamp_now();
    return 0;
  }
  if (n == 0) return 1;
  if (errno == EINTR || errno == EAGAIN) return 0;
  say("read stdin: %s", strerror(errno));
  read_failed = 1;
  return 1;
}

/* Writes the buffer's whole lines, keeps its last partial line (unless the buffer is full of
 * one line, or at EOF). */
static void process(int eof) {
  if (rotate_req && !mid_line) rotate();
  const char *nl = memrchr(inbuf, '\n', inlen);
  size_t whole = nl ? (size_t)(nl - inbuf) + 1 : 0;
  if (whole) put_whole(inbuf, whole);
  size_t rest = inlen - whole;
  if (rest && (rest == IN_SZ || eof)) {
    put_piece(inbuf + whole, rest);
    rest = 0;
  }
  if (rest && whole) memmove(inbuf, inbuf + whole, rest);
  inlen = rest;
}

static void setup_signals(void) {
  struct sigaction sa;
  sigset_t set;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_IGN; /* ends only at EOF: see "Signals" above */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGPIPE, &sa, NULL);
  sa.sa_handler = SIG_DFL; /* inherited ignored, SIGCHLD would reap by itself */
  sigaction(SIGCHLD, &sa, NULL);
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sig_fd < 0) {
    dprintf(2, "pmon3-log: signalfd: %s\n", strerror(errno));
    exit(1);
  }
}

/* The signals that came: a rotation asked for, a compression child ended. */
static void read_signals(void) {
  struct signalfd_siginfo si;
  while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIGCHLD) reap();
    else rotate_req = 1;
  }
}

/* How long poll may sleep: until the next --every rotation or retry of a failed write. */
static int sleep_for(long long now, long long next_every) {
  long long due = LLONG_MAX;
  if (o.every_ms) due = next_every;
  if (failing && dropped && retry_at < due) due = retry_at;
  if (due == LLONG_MAX) return -1;
  long long ms = due > now ? due - now : 0;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * The zero-copy path (splice: pipe pages moved to the file, no copy through this process), taken
 * when nothing needs the bytes seen: no timestamps (a start of a line kept back is written first), no rotation asked for, no
 * drop under way, and the current file has room for this chunk and one more buffer's line after
 * it (so the line a chunk may end inside is finished before --size is reached: no split). After
 * it the file may end mid-line, so mid_line is set: the next bytes are written before any
 * rotation, up to their first newline. splice cannot write to an O_APPEND fd: the flag is off
 * for the call, at the end of the file (this logger is its one writer).
 */
static int splice_off;

static int can_splice(void) {
  return !o.timestamps && !splice_off && !rotate_req && !failing && !dropped && !full && cur_fd >= 0;
}

/* 1 at EOF, 0 after a chunk (or nothing yet), -1: not now (the read path takes it). */
static int splice_some(void) {
  long long budget = PIPE_SZ;
  if (o.size && o.size - (long long)IN_SZ - cur_size < budget) budget = o.size - (long long)IN_SZ - cur_size;
  if (budget < 4096) return -1;
  if (o.max_total && !make_room(budget + (long long)inlen, 0)) return -1;
  /* A line's start the read path kept back goes first (the file then ends mid-line, as after a splice). */
  if (inlen) {
    put_piece(inbuf, inlen);
    inlen = 0;
    if (failing || dropped || full || cur_fd < 0) return -1;
  }
  int fl = fcntl(cur_fd, F_GETFL);
  if (fl < 0 || fcntl(cur_fd, F_SETFL, fl & ~O_APPEND) < 0) return -1;
  ssize_t n = -1;
  if (lseek(cur_fd, 0, SEEK_END) >= 0) n = splice(0, NULL, cur_fd, NULL, (size_t)budget, SPLICE_F_MOVE);
  int err = errno;
  fcntl(cur_fd, F_SETFL, fl);
  if (n > 0) {
    cur_size += n;
    mid_line = 1;
    cur_nl = 0;
    return 0;
  }
  if (n == 0) return 1;
  if (err == EINTR || err == EAGAIN) return 0;
  splice_off = 1; /* not on this file system, or a write error: the read path from now on (it counts drops) */
  return -1;
}

static void run(void) {
  long long next_every = mono_ms() + o.every_ms;
  for (int eof = 0; !eof;) {
    struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = sig_fd, .events = POLLIN } };
    int r = poll(p, 2, sleep_for(mono_ms(), next_every));
    long long now = mono_ms();
    if (r > 0 && p[1].revents) read_signals();
    if (o.every_ms && now >= next_every) {
      rotate_req = 1;
      while (next_every <= now) next_every += o.every_ms;
    }
    if (r > 0 && p[0].revents) {
      int s = can_splice() ? splice_some() : -1;
      eof = s >= 0 ? s : fill();
    }
    if (failing && dropped && now >= retry_at) ready(); /* the marker, without waiting for input */
    process(eof);
  }
}

/* EOF: the marker if something was dropped (a last try), then the pending compressions. */
static void finish(void) {
  int status;
  if (dropped) {
    failing = 0;
    if (cur_fd >= 0 || open_current() == 0) write_marker();
    if (dropped) say("ending with %lld bytes dropped (%s)", dropped, drop_reason);
  }
  while (zpid) {
    if (waitpid(zpid, &status, 0) == zpid) compress_done(status);
    else if (errno != EINTR) break;
  }
  if (cur_fd >= 0) close(cur_fd);
}

/* At start: a crash may have left a temp file, or BASE.J beside a complete BASE.J.gz (the
 * crash came between the rename and the unlink: the .gz was fdatasync'd before its rename). */
static void recover(void) {
  char n[256];
  unlinkat(o.dirfd, tmp_name(n), 0);
  scan();
  for (int i = 1; i <= o.keep; i++)
    if ((slot[i] & PLAIN_FILE) && (slot[i] & HAS_GZ)) {
      unlinkat(o.dirfd, slot_name(n, i, 0), 0);
      rot_total -= slot_size[i];
      look(i);
      rot_total += slot_size[i];
    }
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  setup_signals();
  fcntl(0, F_SETPIPE_SZ, PIPE_SZ); /* fails harmlessly when stdin is no pipe or the limit is lower */
  if (o.timestamps) stamp_now();
  if (o.compress) recover();
  else scan();
  open_current();
  compress_next();
  run();
  finish();
  return read_failed ? 1 : 0;
}
