/*
 * pmon3-exec: the one way pmond starts a process.
 *
 * pmond runs this program with an EMPTY environment and a fixed argv, so that
 * nothing a user chose (LD_PRELOAD, LD_AUDIT, GCONV_PATH, NODE_OPTIONS, ...)
 * reaches a program running with root's rights. It has two modes:
 *
 *   pmon3-exec --server   The exec server, started once by pmond (fd 3: a socket
 *                         to pmond). For each request it creates the program as
 *                         pmond's own child (clone3 CLONE_PARENT), born in its
 *                         cgroup when one is named (CLONE_INTO_CGROUP), and
 *                         answers with the pid once the program has exec'd, or
 *                         with why it could not. pmond itself never forks on
 *                         the restart path (a fork of pmond costs 2-7 ms of page
 *                         tables; of this small static process, ~0.1 ms), and
 *                         being born in a cgroup costs nothing where moving a
 *                         running process into one waits for an RCU grace period
 *                         (~15 ms measured here). pmond reaps these children
 *                         itself (a pidfd reaper, internal/native/native.c).
 *   pmon3-exec            One-shot: the spec on fd 3 (a memfd), failures on fd 4;
 *                         the helper becomes the program (no cgroup). pmond uses
 *                         it where the server cannot be used (no pidfd: Linux < 5.3),
 *                         and to start log readers.
 *   pmon3-exec --read     A log reader, run as a process's user through one-shot
 *                         mode: opens, stats and reads files for `log` and `logf`,
 *                         and lists a log's rotated copies for `log -a` (see read_serve).
 *
 * What a program's process does, in order (run_child):
 *   1. (server mode) setsid: a session and process group of its own;
 *   2. drop privileges: setgroups, setgid, setuid, every capability (also those
 *      securebits would keep, and ambient ones), and check that they stuck (and
 *      that uid 0 cannot be regained); an unprivileged pmond may only run
 *      processes as itself;
 *   3. as the user: open the log it named (O_NOFOLLOW, created with missing
 *      parents, in a directory that is not under pmond's logs_dir or data_dir by
 *      identity; it must be a regular file the user owns) as stdout and stderr;
 *      chdir; find the binary (a bare name through the PATH of the program's
 *      environment); execve with the program's environment.
 * A log in pmond's own logs_dir is opened by the server before the clone, as
 * root: created O_EXCL and handed to the user, or, if it exists, used only if
 * it already belongs to the user (a file that exists is never chowned).
 * Later features (LISTEN_PID, rlimits) belong in run_child, between 2 and 3.
 *
 * Spec: NUL-terminated strings, in this order:
 *   "pmon3-exec/3", uid, gid, ngroups, group..., cgroup (a directory, "" = none),
 *   log kind ("" = keep fds 1 and 2, "daemon" = in pmond's logs_dir, "user" = named
 *   by the user), log path, cwd, file, argc, argv..., envc, env..., then the
 *   directories a "user" log may not be in, "DEV:INO,DEV:INO" (pmond's logs_dir and
 *   data_dir; "" = none).
 * "pmon3-exec/4" (server mode only) is the same followed by nsock and nsock socket
 *   keys: the server's listening sockets (below) the program gets as fds 3, 4, ...
 *   (close-on-exec cleared), with LISTEN_PID=its own pid added to its environment
 *   (LISTEN_FDS and LISTEN_FDNAMES come from pmond in env).
 * "pmon3-exec/5" is /4 followed by one more field: the path of the program's stdin FIFO in
 *   pmond's own data_dir ("" = none), made here (mkfifo 0600) if missing and opened O_RDWR as
 *   this helper, before privileges go (it is pmond's file, in pmond's directory; refused unless
 *   a FIFO of this helper's uid with one link and no group or other bits), as fd 0: the program
 *   holds a writer itself, so it never sees EOF when pmond (which writes `input` into it) restarts.
 * Socket requests ("pmon3-sock/1", server mode): the server holds pmond's listening
 *   sockets (close-on-exec), by key; a program started with them keeps them when
 *   pmond and this server die (they are the program's own fds), and a new server
 *   takes one back from such a program with pidfd_getfd instead of binding again
 *   (which would say EADDRINUSE while the program still listens):
 *   "bind", KEY, "4"|"6", ADDRESS, PORT, BACKLOG: a TCP socket bound and listening
 *     (SO_REUSEADDR), replacing KEY's;
 *   "take", KEY, PID, FD, "4"|"6", ADDRESS, PORT: PID's fd FD, kept only if it is a
 *     listening TCP socket bound to exactly that address and port;
 *   "close", KEY.
 *   Replies as for programs, with PID 0; STAGE "socket".
 * Pipe requests ("pmon3-pipe/1", server mode): the pipes between programs and their
 *   loggers (pmon3-log), held by key while pmond runs, so that neither end ever
 *   finds the other gone: a program never gets EPIPE (a read end is held) and a
 *   logger never sees EOF (a write end is held) when the other side restarts:
 *   "make", KEY: a pipe (1 MiB where the kernel allows), both ends held (KEY/r, KEY/w),
 *     unless KEY's are held already;
 *   "take", KEY, RPID, RFD, WPID, WFD: RPID's fd RFD and WPID's fd WFD (pidfd_getfd),
 *     kept only if both are the two ends of one pipe (a new server after a crash);
 *   "close", KEY: both ends let go (the logger ends once the program's copies close).
 *   A program's log kind "pipe" (log path KEY) gets KEY's write end as fds 1 and 2 (path
 *   "KEY,EKEY": KEY's as fd 1, EKEY's as fd 2); log
 *   kind "pipein" (a logger) gets KEY's read end as fd 0 and keeps fds 1 and 2.
 * Server requests: 4-byte little-endian length, then "ID\0" and the spec.
 * Server replies: 4-byte little-endian length, then "ID ok PID" or
 *   "ID fail PID STAGE ERRNO MESSAGE" (PID 0: no process was made).
 * One-shot failures: "STAGE ERRNO MESSAGE\n" on fd 4, then exit 127 (126 when the
 * file exists but cannot be executed, as shells do); EOF without a byte: exec'd.
 * STAGE is one of: spec, cgroup, clone, setsid, groups, gid, uid, caps, verify, log,
 * logdir (a user's log inside pmond's own directories), logowner, chdir, exec (a
 * path), path (a bare name looked up in PATH), timeout (the program had not exec'd
 * within 10 s and was killed: its cwd, binary or log is on a file system that does
 * not answer).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPEC_FD 3
#define STATUS_FD 4
/* Largest spec: argv + env are bounded by pmond (max_command_bytes) far below this. */
#define MAX_SPEC (8 * 1024 * 1024)
#define MAX_GROUPS 65536
/* The most listening sockets one program gets (the server's table is `held`). */
#define MAX_SOCKS 64

/* ---------------------------------------------------------------- reporting */

/* "STAGE ERRNO MESSAGE" into buf. */
static int describe(char *buf, size_t cap, const char *stage, int err) {
  int n = snprintf(buf, cap, "%s %d %s", stage, err, strerror(err));
  return n < 0 ? 0 : (size_t)n >= cap ? (int)cap - 1 : n;
}

/* In a program's process (or the one-shot helper): say why on fd, and end. */
static void __attribute__((noreturn)) fail_to(int fd, const char *stage, int err) {
  char buf[200];
  int n = describe(buf, sizeof buf - 1, stage, err);
  buf[n++] = '\n';
  ssize_t w = write(fd, buf, (size_t)n);
  (void)w;
  _exit(err == EACCES || err == ENOEXEC || err == EISDIR ? 126 : 127);
}

/* ---------------------------------------------------------------- the spec */

struct spec {
  uid_t uid;
  gid_t gid;
  long ngroups;
  gid_t *groups;
  const char *cgroup;
  const char *log_kind;
  const char *log;
  const char *cwd;
  const char *file;
  char **argv;
  char **envp;
  /* Directories (st_dev, st_ino) a "user" log may not be under. */
  int nforbid;
  /* Listening sockets for fds 3...: keys in the spec, fds resolved by the server. */
  long nsock;
  const char **sock_keys;
  int *sock_fds;
  /* setrlimit(2) before the privileges go: resource, soft, hard (RLIM_INFINITY for -1). */
  long nrlim;
  int rlim_res[16];
  struct rlimit rlim[16];
  dev_t forbid_dev[8];
  ino_t forbid_ino[8];
  /* pmon3-exec/5: the stdin FIFO's path, "" for none. */
  const char *stdin_path;
};

struct cursor {
  char *buf;
  size_t len, pos;
};

static const char *next(struct cursor *c) {
  if (c->pos >= c->len) return NULL;
  char *s = c->buf + c->pos;
  char *end = memchr(s, '\0', c->len - c->pos);
  if (!end) return NULL;
  c->pos = (size_t)(end - c->buf) + 1;
  return s;
}

static int number(struct cursor *c, long min, long max, long *out) {
  const char *s = next(c);
  if (!s) return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* Parse buf[0..len) into s (pointers into buf, arrays malloc'd); 0 or an errno. */
static int parse_spec(char *buf, size_t len, struct spec *s) {
  struct cursor c = {buf, len, 0};
  long v;
  memset(s, 0, sizeof *s);
  const char *tag = next(&c);
  if (!tag) return EPROTO;
  int with_stdin = strcmp(tag, "pmon3-exec/5") == 0;
  int with_sockets = with_stdin || strcmp(tag, "pmon3-exec/4") == 0;
  if (!with_sockets && strcmp(tag, "pmon3-exec/3") != 0) return EPROTO;
  s->stdin_path = "";
  if (number(&c, 0, 0x7fffffff, &v)) return EINVAL;
  s->uid = (uid_t)v;
  if (number(&c, 0, 0x7fffffff, &v)) return EINVAL;
  s->gid = (gid_t)v;
  if (number(&c, 0, MAX_GROUPS, &s->ngroups)) return EINVAL;
  s->groups = calloc((size_t)s->ngroups + 1, sizeof(gid_t));
  if (!s->groups) return ENOMEM;
  for (long i = 0; i < s->ngroups; i++) {
    if (number(&c, 0, 0x7fffffff, &v)) return EINVAL;
    s->groups[i] = (gid_t)v;
  }
  if (!(s->cgroup = next(&c)) || !(s->log_kind = next(&c)) || !(s->log = next(&c)) || !(s->cwd = next(&c)) ||
      !(s->file = next(&c)))
    return EINVAL;
  long argc, envc;
  if (number(&c, 1, 1 << 20, &argc)) return EINVAL;
  s->argv = calloc((size_t)argc + 1, sizeof(char *));
  if (!s->argv) return ENOMEM;
  for (long i = 0; i < argc; i++)
    if (!(s->argv[i] = (char *)next(&c))) return EINVAL;
  if (number(&c, 0, 1 << 20, &envc)) return EINVAL;
  /* One more slot: LISTEN_PID, added by the program itself. */
  s->envp = calloc((size_t)envc + 2, sizeof(char *));
  if (!s->envp) return ENOMEM;
  for (long i = 0; i < envc; i++)
    if (!(s->envp[i] = (char *)next(&c))) return EINVAL;
  const char *forbid = next(&c);
  if (!forbid) return EINVAL;
  while (*forbid) {
    char *end;
    if (s->nforbid == 8) return EINVAL;
    s->forbid_dev[s->nforbid] = (dev_t)strtoull(forbid, &end, 10);
    if (*end != ':') return EINVAL;
    s->forbid_ino[s->nforbid++] = (ino_t)strtoull(end + 1, &end, 10);
    if (*end != ',' && *end) return EINVAL;
    forbid = *end ? end + 1 : end;
  }
  if (with_sockets) {
    if (number(&c, 0, MAX_SOCKS, &s->nsock)) return EINVAL;
    s->sock_keys = calloc((size_t)s->nsock + 1, sizeof(char *));
    s->sock_fds = calloc((size_t)s->nsock + 1, sizeof(int));
    if (!s->sock_keys || !s->sock_fds) return ENOMEM;
    for (long i = 0; i < s->nsock; i++)
      if (!(s->sock_keys[i] = next(&c))) return EINVAL;
    if (number(&c, 0, 16, &s->nrlim)) return EINVAL;
    for (long i = 0; i < s->nrlim; i++) {
      long res;
      const char *soft, *hard;
      if (number(&c, 0, RLIM_NLIMITS - 1, &res) || !(soft = next(&c)) || !(hard = next(&c))) return EINVAL;
      s->rlim_res[i] = (int)res;
      for (int k = 0; k < 2; k++) {
        const char *v = k ? hard : soft;
        rlim_t *out = k ? &s->rlim[i].rlim_max : &s->rlim[i].rlim_cur;
        if (strcmp(v, "-1") == 0) {
          *out = RLIM_INFINITY;
          continue;
        }
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || *v == '-') return EINVAL;
        *out = (rlim_t)x;
      }
    }
  }
  if (with_stdin && (!(s->stdin_path = next(&c)) || (*s->stdin_path && *s->stdin_path != '/'))) return EINVAL;
  if (c.pos != c.len) return EINVAL;
  if (*s->log_kind && strcmp(s->log_kind, "daemon") != 0 && strcmp(s->log_kind, "user") != 0 && strcmp(s->log_kind, "pipe") != 0 &&
      strcmp(s->log_kind, "pipein") != 0)
    return EINVAL;
  return 0;
}

static void free_spec(struct spec *s) {
  free(s->sock_keys);
  free(s->sock_fds);
  free(s->groups);
  free(s->argv);
  free(s->envp);
}

/* ---------------------------------------------------------------- the program's process */

/* mkdir -p of the parents of path, as the (already unprivileged) user. */
static int make_parents(const char *path) {
  char *p = strdup(path);
  if (!p) return ENOMEM;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0750) != 0 && errno != EEXIST) {
      int err = errno;
      free(p);
      return err;
    }
    *s = '/';
  }
  free(p);
  return 0;
}

/*
 * Whether directory dfd is one of the forbidden directories or below one, asked of the file
 * system itself (its ".." chain, st_dev and st_ino), not of a path: a symlink, a bind mount or
 * /proc/self/cwd cannot hide pmond's logs_dir. Returns 0 (outside), 1 (inside), or -1 with errno.
 * A ".." the user may not look up (EACCES) ends the walk as "outside": pmond's directories
 * (0755) and every directory under them can be searched by anyone, so nothing above a closed
 * one leads into them. Run as the user.
 */
static int below_forbidden(const struct spec *s, int dfd) {
  if (s->nforbid == 0) return 0;
  int cur = dup(dfd);
  if (cur < 0) return -1;
  for (int depth = 0; depth < 4096; depth++) {
    struct stat st, up;
    if (fstat(cur, &st) != 0) break;
    for (int i = 0; i < s->nforbid; i++) {
      if (st.st_dev == s->forbid_dev[i] && st.st_ino == s->forbid_ino[i]) {
        close(cur);
        return 1;
      }
    }
    int parent = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) {
      int err = errno;
      close(cur);
      if (err == EACCES) return 0;
      errno = err;
      return -1;
    }
    close(cur);
    cur = parent;
    if (fstat(cur, &up) != 0) break;
    if (up.st_dev == st.st_dev && up.st_ino == st.st_ino) { /* "/" is its own parent */
      close(cur);
      return 0;
    }
  }
  int err = errno ? errno : ELOOP;
  close(cur);
  errno = err;
  return -1;
}

/*
 * Open a log the user named, as the user: its directory first (created with missing parents,
 * symlinks in it followed as the user's shell would), checked to be outside pmond's own
 * directories, then the file in that very directory (no path lookup in between to swap).
 * Returns an fd, or -1 with *stage and errno.
 */
static int open_user_log(const struct spec *s, const char **stage) {
  *stage = "log";
  int err = make_parents(s->log);
  if (err) {
    errno = err;
    return -1;
  }
  const char *slash = strrchr(s->log, '/');
  if (!slash || !slash[1]) {
    errno = EISDIR;
    return -1;
  }
  char *dir = strndup(s->log, slash == s->log ? 1 : (size_t)(slash - s->log));
  if (!dir) return -1;
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  err = errno;
  free(dir);
  if (dfd < 0) {
    errno = err;
    return -1;
  }
  int inside = below_forbidden(s, dfd);
  if (inside != 0) {
    err = inside < 0 ? errno : EPERM;
    if (inside > 0) *stage = "logdir";
    close(dfd);
    errno = err;
    return -1;
  }
  /* O_NONBLOCK: a FIFO with no reader fails (ENXIO) instead of blocking; cleared once it is known a file. */
  int fd = openat(dfd, slash + 1, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0640);
  err = errno;
  close(dfd);
  errno = err;
  return fd;
}

/* execve file, looking a bare name up in the PATH of envp (as execvp does, without running sh on ENOEXEC). */
static void __attribute__((noreturn)) run(int status, const char *file, char **argv, char **envp) {
  if (strchr(file, '/')) {
    execve(file, argv, envp);
    int err = errno;
    struct stat st;
    /* execve says EACCES for a directory; a shell says "Is a directory". Asked as the user. */
    if (err == EACCES && stat(file, &st) == 0 && S_ISDIR(st.st_mode)) err = EISDIR;
    fail_to(status, "exec", err);
  }
  const char *path = "/usr/local/bin:/usr/bin:/bin";
  for (char **e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  size_t flen = strlen(file);
  int seen_eacces = 0;
  char buf[PATH_MAX];
  for (const char *p = path;;) {
    const char *colon = strchrnul(p, ':');
    size_t dlen = (size_t)(colon - p);
    int fits = 1;
    /* An empty PATH entry means the current directory (POSIX). */
    if (dlen == 0) {
      if (flen + 1 > sizeof buf) fail_to(status, "exec", ENAMETOOLONG);
      memcpy(buf, file, flen + 1);
    } else if (dlen + 1 + flen + 1 > sizeof buf) {
      fits = 0;
    } else {
      memcpy(buf, p, dlen);
      buf[dlen] = '/';
      memcpy(buf + dlen + 1, file, flen + 1);
    }
    if (fits) {
      execve(buf, argv, envp);
      switch (errno) {
        case EACCES:
          seen_eacces = 1;
          break;
        case ENOENT:
        case ENOTDIR:
        case ELOOP:
        case ENAMETOOLONG:
        case ENODEV:
        case ETIMEDOUT:
        case ESTALE:
          break;
        default:
          fail_to(status, "exec", errno);
      }
    }
    if (!*colon) break;
    p = colon + 1;
  }
  /* "command not found" when nothing matched; EACCES if something matched but could not run. */
  fail_to(status, "path", seen_eacces ? EACCES : ENOENT);
}

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * Every fd from `from` on is close-on-exec: the program gets 0-2 and its sockets, nothing pmond
 * was started with (a service manager's or a shell's stray fd) nor anything of the server's.
 * Not closed here: the status pipe is among them until the execve.
 */
static void no_stray_fds(int from) {
  if (syscall(SYS_close_range, (unsigned)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  /* Linux < 5.11: each fd the process may have. */
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = from; fd < max; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * The listening sockets to fds 3, 4, ... (close-on-exec cleared; sd_listen_fds' layout) and
 * LISTEN_PID=our pid (raw getpid: glibc's cache in a clone3'd process is the parent's).
 * Every fd involved is first moved above the range, so no dup2 lands on one still needed
 * (the status pipe included). Returns the status fd's new number.
 */
static int place_sockets(const struct spec *s, int status) {
  int top = 3 + (int)s->nsock + 1;
  int st = fcntl(status, F_DUPFD_CLOEXEC, top);
  if (st < 0) fail_to(status, "socket", errno);
  close(status);
  int tmp[MAX_SOCKS];
  for (long i = 0; i < s->nsock; i++) {
    tmp[i] = fcntl(s->sock_fds[i], F_DUPFD_CLOEXEC, top);
    if (tmp[i] < 0) fail_to(st, "socket", errno);
  }
  for (long i = 0; i < s->nsock; i++) {
    if (dup2(tmp[i], 3 + (int)i) < 0) fail_to(st, "socket", errno);
    close(tmp[i]);
  }
  static char pidvar[32];
  snprintf(pidvar, sizeof pidvar, "LISTEN_PID=%ld", (long)syscall(SYS_getpid));
  char **e = s->envp;
  while (*e) e++;
  *e = pidvar; /* the slot parse_spec left */
  return st;
}

/*
 * Become the program: steps 1-3 of the header. Raw syscalls for the identity: in a
 * clone3'd process glibc's per-thread caches are the parent's. Failures go to `status`.
 */
static void __attribute__((noreturn)) run_child(const struct spec *s, int status, int own_session) {
  if (own_session && syscall(SYS_setsid) < 0) fail_to(status, "setsid", errno);
  /* Limits first, while root may still raise a hard one (pmond let only an admin ask above its own). */
  for (long i = 0; i < s->nrlim; i++)
    if (setrlimit(s->rlim_res[i], &s->rlim[i]) != 0) fail_to(status, "rlimit", errno);
  if (getuid() == 0 || geteuid() == 0) {
    if (syscall(SYS_setgroups, (size_t)s->ngroups, s->groups) != 0) fail_to(status, "groups", errno);
    if (syscall(SYS_setresgid, s->gid, s->gid, s->gid) != 0) fail_to(status, "gid", errno);
    if (syscall(SYS_setresuid, s->uid, s->uid, s->uid) != 0) fail_to(status, "uid", errno);
  } else if (getuid() != s->uid || getgid() != s->gid) {
    /* An unprivileged pmond can only run processes as itself. */
    fail_to(status, "uid", EPERM);
  }
  uid_t r, e, sv;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &sv) != 0 || r != s->uid || e != s->uid || sv != s->uid) fail_to(status, "verify", EPERM);
  if (getresgid(&rg, &eg, &sg) != 0 || rg != s->gid || eg != s->gid || sg != s->gid) fail_to(status, "verify", EPERM);
  if (s->uid != 0) {
    /*
     * No capability reaches what the user controls. setresuid to a non-zero uid clears them,
     * unless pmond was given securebits that keep them (SECBIT_KEEP_CAPS, SECBIT_NO_SETUID_FIXUP:
     * a service manager's setting, inherited here): then the log open and chdir below would run
     * with root's capabilities. Cleared explicitly (ambient too), then checked.
     */
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
    memset(caps, 0, sizeof caps);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (syscall(SYS_capset, &head, caps) != 0) fail_to(status, "caps", errno);
    if (syscall(SYS_capget, &head, caps) != 0) fail_to(status, "caps", errno);
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
      if (caps[i].effective || caps[i].permitted || caps[i].inheritable) fail_to(status, "verify", EPERM);
    if (syscall(SYS_setresuid, -1, 0, -1) == 0 || syscall(SYS_setresuid, 0, -1, -1) == 0) fail_to(status, "verify", EPERM);
  }

  /* Everything the user named is touched with the user's rights only. */
  if (strcmp(s->log_kind, "user") == 0) {
    const char *stage;
    int fd = open_user_log(s, &stage);
    if (fd < 0) fail_to(status, stage, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) fail_to(status, "log", errno);
    if (!S_ISREG(st.st_mode) || st.st_uid != s->uid) fail_to(status, "logowner", EPERM);
    if (fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) != 0) fail_to(status, "log", errno);
    if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0) fail_to(status, "log", errno);
    close(fd);
  }
  if (chdir(s->cwd) != 0) fail_to(status, "chdir", errno);
  if (s->nsock > 0) status = place_sockets(s, status);
  no_stray_fds(3 + (int)s->nsock);
  run(status, s->file, s->argv, s->envp);
}

/*
 * A log in pmond's own logs_dir, opened as root: created here (O_EXCL) and handed to the
 * user, or an existing one that already is the user's. Returns an fd, or -1 with *stage/errno.
 */
static int open_daemon_log(const struct spec *s, const char **stage) {
  *stage = "log";
  int fd = open(s->log, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0640);
  if (fd >= 0) {
    if ((geteuid() == 0 && s->uid != 0 && fchown(fd, s->uid, s->gid) != 0) || fchmod(fd, 0640) != 0 ||
        fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) != 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
    return fd;
  }
  if (errno != EEXIST) return -1;
  fd = open(s->log, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != s->uid || st.st_nlink != 1) {
    close(fd);
    *stage = "logowner";
    errno = EPERM;
    return -1;
  }
  fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
  return fd;
}

/* The stdin FIFO (pmon3-exec/5), made if missing, opened read-write: -1 with errno. */
static int open_stdin_fifo(const struct spec *s) {
  if (mkfifo(s->stdin_path, 0600) != 0 && errno != EEXIST) return -1;
  int fd = open(s->stdin_path, O_RDWR | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1 || (st.st_mode & 077) != 0 ||
      fcntl(fd, F_SETFL, O_RDWR) != 0) {
    close(fd);
    errno = EPERM;
    return -1;
  }
  return fd;
}

/* ---------------------------------------------------------------- the exec server */

static int read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

static int write_full(int fd, const void *buf, size_t len) {
  size_t put = 0;
  while (put < len) {
    ssize_t n = write(fd, (const char *)buf + put, len - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    put += (size_t)n;
  }
  return 0;
}

static void reply(const char *id, const char *text) {
  char buf[400];
  int n = snprintf(buf + 4, sizeof buf - 4, "%s %s", id, text);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 5) n = (int)sizeof buf - 5;
  uint32_t len = (uint32_t)n;
  memcpy(buf, &len, 4);
  if (write_full(SPEC_FD, buf, 4 + (size_t)n) != 0) _exit(0); /* pmond is gone */
}

static void reply_fail(const char *id, long pid, const char *stage, int err) {
  char text[300];
  char what[220];
  describe(what, sizeof what, stage, err);
  snprintf(text, sizeof text, "fail %ld %s", pid, what);
  reply(id, text);
}

/*
 * Programs made and not yet exec'd (or failed). The server never waits for one:
 * a program whose cwd, binary or log sits on a file system that does not answer
 * (a FUSE mount the user runs) would otherwise hold every other user's spawns.
 * Each has a deadline; past it the program is killed and the request fails.
 */
#define MAX_INFLIGHT 256
#define EXEC_DEADLINE_MS 10000
#define GIVE_UP_MS 5000

struct flight {
  char id[24];
  long pid;
  int fd;
  size_t got;
  char msg[256];
  long long deadline;
  int killed;
  /* A Unix socket being bound as a user (bind_unix): the key its fd is held under once bound. */
  int binder;
  char key[64];
  char path[108];
};
static struct flight flights[MAX_INFLIGHT];
static int nflights;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int held_put(const char *key, int fd);
static void landed_binder(struct flight *f);

/* A new flight: request id's process pid, whose status pipe is fd, due in EXEC_DEADLINE_MS. */
static struct flight *add_flight(const char *id, long pid, int fd) {
  struct flight *f = &flights[nflights++];
  memset(f, 0, sizeof *f);
  snprintf(f->id, sizeof f->id, "%s", id);
  f->pid = pid;
  f->fd = fd;
  f->deadline = now_ms() + EXEC_DEADLINE_MS;
  return f;
}

/* Answer for flight i and forget it. */
static void land(int i) {
  struct flight *f = &flights[i];
  if (f->binder) {
    landed_binder(f);
  } else if (f->killed) {
    char text[160];
    snprintf(text, sizeof text, "fail %ld timeout %d did not start within %d s", f->pid, ETIMEDOUT, EXEC_DEADLINE_MS / 1000);
    reply(f->id, text);
  } else if (f->got == 0) {
    char text[64];
    snprintf(text, sizeof text, "ok %ld", f->pid);
    reply(f->id, text);
  } else {
    f->msg[f->got] = '\0';
    char *nl = strchr(f->msg, '\n');
    if (nl) *nl = '\0';
    char text[320];
    snprintf(text, sizeof text, "fail %ld %s", f->pid, f->msg);
    reply(f->id, text);
  }
  close(f->fd);
  flights[i] = flights[--nflights];
}

/* ---------------------------------------------------------------- listening sockets */

struct held {
  char key[64];
  int fd;
};
/* pmond allows 64 per user (internal/apps/sockets.ts). */
static struct held held[4096];
static int nheld;

static int held_find(const char *key) {
  for (int i = 0; i < nheld; i++)
    if (strcmp(held[i].key, key) == 0) return i;
  return -1;
}

/* Keep fd as key's socket (closing the one it replaces); ENOSPC when the table is full. */
static int held_put(const char *key, int fd) {
  int i = held_find(key);
  if (i >= 0) {
    close(held[i].fd);
    held[i].fd = fd;
    return 0;
  }
  if (nheld == (int)(sizeof held / sizeof held[0]) || strlen(key) >= sizeof held[0].key) return ENOSPC;
  snprintf(held[nheld].key, sizeof held[0].key, "%s", key);
  held[nheld++].fd = fd;
  return 0;
}

/* ADDRESS and PORT of family "4" or "6" as a sockaddr; 0 or EINVAL. */
static int sock_addr(const char *fam, const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len) {
  char *end;
  long p = strtol(port, &end, 10);
  if (!*port || *end || p < 0 || p > 65535) return EINVAL;
  memset(ss, 0, sizeof *ss);
  if (strcmp(fam, "4") == 0) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)p);
    if (inet_pton(AF_INET, addr, &a->sin_addr) != 1) return EINVAL;
    *len = sizeof *a;
    return 0;
  }
  if (strcmp(fam, "6") == 0) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)p);
    if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) return EINVAL;
    *len = sizeof *a;
    return 0;
  }
  return EINVAL;
}

/* Whether fd is a listening TCP socket bound to exactly want. */
static int is_listening_at(int fd, const struct sockaddr_storage *want, socklen_t wlen) {
  int v = 0;
  socklen_t vl = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) != 0 || v != 1) return 0;
  vl = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl) != 0 || v != SOCK_STREAM) return 0;
  struct sockaddr_storage got;
  socklen_t glen = sizeof got;
  memset(&got, 0, sizeof got);
  if (getsockname(fd, (struct sockaddr *)&got, &glen) != 0 || glen != wlen) return 0;
  return memcmp(&got, want, wlen) == 0;
}

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int take_fd(const char *pid_s, const char *fd_s);

/* Keep fd as key's and answer ok; a full table: fd closed, the failure answered. */
static void hold_reply(const char *id, const char *key, int fd) {
  int err = held_put(key, fd);
  if (err) {
    close(fd);
    reply_fail(id, 0, "socket", err);
    return;
  }
  reply(id, "ok 0");
}

/* Whether fd is a listening AF_UNIX stream socket bound to path. */
static int is_unix_listening_at(int fd, const char *path) {
  int v = 0;
  socklen_t vl = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) != 0 || v != 1) return 0;
  struct sockaddr_un got;
  socklen_t glen = sizeof got;
  memset(&got, 0, sizeof got);
  if (getsockname(fd, (struct sockaddr *)&got, &glen) != 0 || got.sun_family != AF_UNIX) return 0;
  return strncmp(got.sun_path, path, sizeof got.sun_path) == 0;
}

/*
 * The binder: a child of this server that becomes the app's user (groups, gid, uid, checked)
 * before it touches the path, so a Unix socket lands only where that user may create one, and
 * a path on a file system that never answers holds only this child (a flight with a deadline).
 * It removes a stale socket of its own there, binds, sets the mode, listens, says "bound FD" and
 * waits; the server takes the fd with pidfd_getfd and kills it.
 */
static void __attribute__((noreturn)) run_binder(int st, const char *path, mode_t mode, uid_t uid, gid_t gid, long backlog) {
  if (getuid() == 0) {
    if (syscall(SYS_setgroups, 1, &gid) != 0) fail_to(st, "groups", errno);
    if (syscall(SYS_setresgid, gid, gid, gid) != 0) fail_to(st, "gid", errno);
    if (syscall(SYS_setresuid, uid, uid, uid) != 0) fail_to(st, "uid", errno);
  } else if (getuid() != uid) {
    fail_to(st, "uid", EPERM);
  }
  if (uid != 0 && (syscall(SYS_setresuid, -1, 0, -1) == 0 || geteuid() != uid)) fail_to(st, "verify", EPERM);
  struct stat sb;
  if (lstat(path, &sb) == 0) {
    /* Only a stale socket of this user's is replaced; anything else there stays and is an error. */
    if (!S_ISSOCK(sb.st_mode) || sb.st_uid != uid) fail_to(st, "socket", EEXIST);
    if (unlink(path) != 0) fail_to(st, "socket", errno);
  }
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a.sun_path) fail_to(st, "socket", ENAMETOOLONG);
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mode_t old = umask(0777);
  int b = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof a);
  umask(old);
  if (b != 0) fail_to(st, "socket", errno);
  if (chmod(path, mode) != 0 || listen(fd, backlog > 0 && backlog <= 65535 ? (int)backlog : 511) != 0) fail_to(st, "socket", errno);
  char line[32];
  int n = snprintf(line, sizeof line, "bound %d\n", fd);
  if (write(st, line, (size_t)n) != n) _exit(127);
  for (;;) pause();
}

/* A binder's flight landed: its fd taken and held, or its failure told. */
static void landed_binder(struct flight *f) {
  int fd = -1, err = 0;
  f->msg[f->got] = '\0';
  char *nl = strchr(f->msg, '\n');
  if (nl) *nl = '\0';
  long tfd = -1;
  if (!f->killed && sscanf(f->msg, "bound %ld", &tfd) == 1) {
    int pfd = (int)syscall(SYS_pidfd_open, (pid_t)f->pid, 0);
    fd = pfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pfd, (int)tfd, 0);
    err = errno;
    if (pfd >= 0) close(pfd);
    if (fd >= 0 && !is_unix_listening_at(fd, f->path)) {
      close(fd);
      fd = -1;
      err = ENOTSOCK;
    }
    if (fd >= 0 && (err = held_put(f->key, fd)) != 0) {
      close(fd);
      fd = -1;
    }
  }
  kill((pid_t)f->pid, SIGKILL);
  if (fd >= 0) {
    reply(f->id, "ok 0");
  } else if (f->killed) {
    char text[160];
    snprintf(text, sizeof text, "fail 0 timeout %d did not bind within %d s", ETIMEDOUT, EXEC_DEADLINE_MS / 1000);
    reply(f->id, text);
  } else if (tfd >= 0) {
    reply_fail(f->id, 0, "socket", err ? err : EIO);
  } else {
    char text[320];
    snprintf(text, sizeof text, "fail 0 %s", f->got ? f->msg : "socket 5 Input/output error");
    reply(f->id, text);
  }
}

/* "bindunix", KEY, PATH, MODE (octal), UID, GID, BACKLOG: a binder started as a flight. */
static void start_binder(const char *id, struct cursor *c) {
  const char *key = next(c), *path = next(c), *mode_s = next(c), *uid_s = next(c), *gid_s = next(c), *bl = next(c);
  if (!key || !*key || strlen(key) >= sizeof flights[0].key || !path || path[0] != '/' || strlen(path) >= sizeof flights[0].path || !mode_s ||
      !uid_s || !gid_s || !bl || c->pos != c->len || nflights == MAX_INFLIGHT) {
    reply_fail(id, 0, "socket", nflights == MAX_INFLIGHT ? EAGAIN : EINVAL);
    return;
  }
  char *e1, *e2, *e3, *e4;
  long mode = strtol(mode_s, &e1, 8), uid = strtol(uid_s, &e2, 10), gid = strtol(gid_s, &e3, 10), backlog = strtol(bl, &e4, 10);
  if (*e1 || *e2 || *e3 || *e4 || mode < 0 || mode > 0777 || uid < 0 || gid < 0) {
    reply_fail(id, 0, "socket", EINVAL);
    return;
  }
  int st[2];
  if (pipe2(st, O_CLOEXEC) != 0) {
    reply_fail(id, 0, "socket", errno);
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(SPEC_FD);
    close(st[0]);
    for (int i = 0; i < nflights; i++) close(flights[i].fd);
    /* Nothing the server holds (other apps' sockets, log pipes) stays in a process that becomes a user. */
    for (int i = 0; i < nheld; i++) close(held[i].fd);
    run_binder(st[1], path, (mode_t)mode, (uid_t)uid, (gid_t)gid, backlog);
  }
  int err = errno;
  close(st[1]);
  if (pid < 0) {
    close(st[0]);
    reply_fail(id, 0, "socket", err);
    return;
  }
  struct flight *f = add_flight(id, pid, st[0]);
  f->binder = 1;
  snprintf(f->key, sizeof f->key, "%s", key);
  snprintf(f->path, sizeof f->path, "%s", path);
}

/* "takeunix", KEY, PID, FD, PATH: PID's fd FD, kept only if it listens on exactly that path. */
static void take_unix(const char *id, struct cursor *c) {
  const char *key = next(c), *pid_s = next(c), *fd_s = next(c), *path = next(c);
  if (!key || !*key || !pid_s || !fd_s || !path || c->pos != c->len) {
    reply_fail(id, 0, "socket", EINVAL);
    return;
  }
  int fd = take_fd(pid_s, fd_s);
  if (fd < 0) {
    reply_fail(id, 0, "socket", errno);
    return;
  }
  if (!is_unix_listening_at(fd, path)) {
    close(fd);
    reply_fail(id, 0, "socket", ENOTSOCK);
    return;
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  hold_reply(id, key, fd);
}

/* A "pmon3-sock/1" request (after the tag): bind, take or close a listening socket. */
static void serve_sock(const char *id, struct cursor *c) {
  const char *op = next(c), *key = next(c);
  if (!op || !key || !*key) {
    reply_fail(id, 0, "socket", EINVAL);
    return;
  }
  if (strcmp(op, "close") == 0) {
    int i = held_find(key);
    if (i >= 0) {
      close(held[i].fd);
      held[i] = held[--nheld];
    }
    reply(id, "ok 0");
    return;
  }
  if (strcmp(op, "bindunix") == 0 || strcmp(op, "takeunix") == 0) {
    c->pos -= strlen(key) + 1; /* the key again, for the handler */
    if (op[0] == 'b') start_binder(id, c);
    else take_unix(id, c);
    return;
  }
  int bind_op = strcmp(op, "bind") == 0;
  const char *pid_s = NULL, *fd_s = NULL;
  if (!bind_op) {
    if (strcmp(op, "take") != 0 || !(pid_s = next(c)) || !(fd_s = next(c))) {
      reply_fail(id, 0, "socket", EINVAL);
      return;
    }
  }
  const char *fam = next(c), *addr = next(c), *port = next(c);
  const char *backlog_s = bind_op ? next(c) : "0";
  struct sockaddr_storage ss;
  socklen_t slen = 0;
  if (!fam || !addr || !port || !backlog_s || c->pos != c->len || sock_addr(fam, addr, port, &ss, &slen) != 0) {
    reply_fail(id, 0, "socket", EINVAL);
    return;
  }
  int fd;
  if (bind_op) {
    long backlog = strtol(backlog_s, NULL, 10);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 || bind(fd, (struct sockaddr *)&ss, slen) != 0 ||
        listen(fd, backlog > 0 && backlog <= 65535 ? (int)backlog : 511) != 0) {
      int err = errno;
      if (fd >= 0) close(fd);
      reply_fail(id, 0, "socket", err);
      return;
    }
  } else {
    fd = take_fd(pid_s, fd_s);
    if (fd < 0) {
      reply_fail(id, 0, "socket", errno);
      return;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    /* Only what pmond asked for: not a socket of another address the pid (reused?) holds. */
    if (!is_listening_at(fd, &ss, slen)) {
      close(fd);
      reply_fail(id, 0, "socket", ENOTSOCK);
      return;
    }
  }
  hold_reply(id, key, fd);
}

/* Whether a and b are the two ends of one pipe (a FIFO of the pipe file system, same inode). */
static int same_pipe(int r, int w) {
  struct stat a, b;
  if (fstat(r, &a) != 0 || fstat(w, &b) != 0 || !S_ISFIFO(a.st_mode) || !S_ISFIFO(b.st_mode)) return 0;
  if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) return 0;
  return (fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY && (fcntl(w, F_GETFL) & O_ACCMODE) == O_WRONLY;
}

static int take_fd(const char *pid_s, const char *fd_s) {
  char *e1, *e2;
  long pid = strtol(pid_s, &e1, 10), tfd = strtol(fd_s, &e2, 10);
  if (*e1 || *e2 || pid <= 0 || tfd < 0) {
    errno = EINVAL;
    return -1;
  }
  int pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (pfd < 0) return -1;
  int fd = (int)syscall(SYS_pidfd_getfd, pfd, (int)tfd, 0);
  int err = errno;
  close(pfd);
  errno = err;
  return fd;
}

/* A "pmon3-pipe/1" request (after the tag): make, take or close a program's log pipe. */
static void serve_pipe(const char *id, struct cursor *c) {
  const char *op = next(c), *key = next(c);
  char rk[64], wk[64];
  if (!op || !key || !*key || strlen(key) > 60) {
    reply_fail(id, 0, "pipe", EINVAL);
    return;
  }
  snprintf(rk, sizeof rk, "%s/r", key);
  snprintf(wk, sizeof wk, "%s/w", key);
  if (strcmp(op, "close") == 0) {
    for (int k = 0; k < 2; k++) {
      int i = held_find(k ? wk : rk);
      if (i >= 0) {
        close(held[i].fd);
        held[i] = held[--nheld];
      }
    }
    reply(id, "ok 0");
    return;
  }
  int fds[2] = {-1, -1};
  if (strcmp(op, "make") == 0 && c->pos == c->len) {
    if (held_find(rk) >= 0 && held_find(wk) >= 0) {
      reply(id, "ok 0");
      return;
    }
    if (pipe2(fds, O_CLOEXEC) != 0) {
      reply_fail(id, 0, "pipe", errno);
      return;
    }
    /* Room for a burst while a logger restarts; the kernel's pipe-max-size may say less. */
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  } else if (strcmp(op, "take") == 0) {
    const char *rp = next(c), *rf = next(c), *wp = next(c), *wf = next(c);
    if (!rp || !rf || !wp || !wf || c->pos != c->len) {
      reply_fail(id, 0, "pipe", EINVAL);
      return;
    }
    fds[0] = take_fd(rp, rf);
    int err = errno;
    fds[1] = fds[0] >= 0 ? take_fd(wp, wf) : -1;
    if (fds[1] < 0) err = errno;
    if (fds[0] < 0 || fds[1] < 0 || !same_pipe(fds[0], fds[1])) {
      if (fds[0] >= 0) close(fds[0]);
      if (fds[1] >= 0) close(fds[1]);
      reply_fail(id, 0, "pipe", fds[0] >= 0 && fds[1] >= 0 ? ENOTSOCK : err);
      return;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  } else {
    reply_fail(id, 0, "pipe", EINVAL);
    return;
  }
  int err = held_put(rk, fds[0]);
  if (!err) err = held_put(wk, fds[1]);
  if (err) {
    close(fds[0]);
    close(fds[1]);
    reply_fail(id, 0, "pipe", err);
    return;
  }
  reply(id, "ok 0");
}

/* One request: make the program's process, and let the loop wait for its exec (or failure). */
static void serve_one(char *buf, size_t len) {
  char *nul = memchr(buf, '\0', len);
  if (!nul || (size_t)(nul - buf) >= sizeof flights[0].id) {
    reply("0", "fail 0 spec 22 Invalid argument");
    return;
  }
  const char *id = buf;
  size_t head = (size_t)(nul - buf) + 1;
  if (len - head >= 13 && memcmp(buf + head, "pmon3-sock/1", 13) == 0) {
    struct cursor c = {buf, len, head + 13};
    serve_sock(id, &c);
    return;
  }
  if (len - head >= 13 && memcmp(buf + head, "pmon3-pipe/1", 13) == 0) {
    struct cursor c = {buf, len, head + 13};
    serve_pipe(id, &c);
    return;
  }
  struct spec s;
  int err = parse_spec(buf + head, len - head, &s);
  if (err) {
    free_spec(&s);
    reply_fail(id, 0, "spec", err);
    return;
  }
  for (long i = 0; i < s.nsock; i++) {
    int h = held_find(s.sock_keys[i]);
    if (h < 0) {
      reply_fail(id, 0, "socket", EBADF);
      free_spec(&s);
      return;
    }
    s.sock_fds[i] = held[h].fd;
  }
  int log_fd = -1, in_fd = -1, err_fd = -1;
  if (strcmp(s.log_kind, "daemon") == 0) {
    const char *stage;
    log_fd = open_daemon_log(&s, &stage);
    if (log_fd < 0) {
      reply_fail(id, 0, stage, errno);
      free_spec(&s);
      return;
    }
  } else if (strcmp(s.log_kind, "pipe") == 0 || strcmp(s.log_kind, "pipein") == 0) {
    /* "KEY", or for a program "KEY,EKEY": stdout into KEY's pipe, stderr into EKEY's. */
    int w = strcmp(s.log_kind, "pipe") == 0;
    const char *comma = w ? strchr(s.log, ',') : NULL;
    for (int part = 0; part < (comma ? 2 : 1); part++) {
      char k[80];
      int n = part ? (int)strlen(comma + 1) : comma ? (int)(comma - s.log) : (int)strlen(s.log);
      snprintf(k, sizeof k, "%.*s/%s", n > 60 ? 60 : n, part ? comma + 1 : s.log, w ? "w" : "r");
      int h = held_find(k);
      /* A copy the server closes after the clone, as a daemon log's: the held one stays. */
      int fd = h < 0 ? (errno = EBADF, -1) : fcntl(held[h].fd, F_DUPFD_CLOEXEC, 3);
      if (fd < 0) {
        reply_fail(id, 0, "log", errno);
        if (log_fd >= 0) close(log_fd);
        free_spec(&s);
        return;
      }
      if (!w) in_fd = fd;
      else if (part) err_fd = fd;
      else log_fd = fd;
    }
  }
  if (*s.stdin_path) {
    if (in_fd >= 0) {
      close(in_fd);
      in_fd = -1;
      errno = EINVAL; /* a logger's fd 0 is its pipe */
    } else {
      in_fd = open_stdin_fifo(&s);
    }
    if (in_fd < 0) {
      reply_fail(id, 0, "stdin", errno);
      if (log_fd >= 0) close(log_fd);
      if (err_fd >= 0) close(err_fd);
      free_spec(&s);
      return;
    }
  }
  int cg = -1;
  if (*s.cgroup) {
    cg = open(s.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0) {
      reply_fail(id, 0, "cgroup", errno);
      if (log_fd >= 0) close(log_fd);
      if (in_fd >= 0) close(in_fd);
      if (err_fd >= 0) close(err_fd);
      free_spec(&s);
      return;
    }
  }
  /* The program reports a failure here; EOF without a byte means its execve succeeded. */
  int st[2];
  if (pipe2(st, O_CLOEXEC) != 0) {
    reply_fail(id, 0, "clone", errno);
    if (log_fd >= 0) close(log_fd);
    if (in_fd >= 0) close(in_fd);
    if (err_fd >= 0) close(err_fd);
    if (cg >= 0) close(cg);
    free_spec(&s);
    return;
  }
  struct clone_args args;
  memset(&args, 0, sizeof args);
  /* With CLONE_PARENT the exit signal is this server's own (SIGCHLD), sent to pmond. */
  args.flags = CLONE_PARENT | (cg >= 0 ? CLONE_INTO_CGROUP : 0);
  args.cgroup = cg >= 0 ? (unsigned long long)cg : 0;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    close(SPEC_FD);
    close(st[0]);
    for (int i = 0; i < nflights; i++) close(flights[i].fd);
    if (log_fd >= 0 && (dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)) fail_to(st[1], "log", errno);
    if (in_fd >= 0 && dup2(in_fd, 0) < 0) fail_to(st[1], "log", errno);
    if (err_fd >= 0 && dup2(err_fd, 2) < 0) fail_to(st[1], "log", errno);
    run_child(&s, st[1], 1);
  }
  int clone_err = errno;
  close(st[1]);
  if (log_fd >= 0) close(log_fd);
  if (in_fd >= 0) close(in_fd);
  if (err_fd >= 0) close(err_fd);
  if (cg >= 0) close(cg);
  free_spec(&s);
  if (pid < 0) {
    close(st[0]);
    reply_fail(id, 0, cg >= 0 ? "cgroup" : "clone", clone_err);
    return;
  }
  add_flight(id, pid, st[0]);
}

static int serve(void) {
  /* Gone with pmond; the socket to pmond is not a program's business. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 0;
  fcntl(SPEC_FD, F_SETFD, FD_CLOEXEC);
  for (;;) {
    struct pollfd p[1 + MAX_INFLIGHT];
    int n = 0;
    /* At MAX_INFLIGHT, requests wait in the socket until programs land. */
    int reading = nflights < MAX_INFLIGHT;
    if (reading) p[n++] = (struct pollfd){SPEC_FD, POLLIN, 0};
    long long now = now_ms(), next = -1;
    for (int i = 0; i < nflights; i++) {
      p[n++] = (struct pollfd){flights[i].fd, POLLIN, 0};
      long long due = flights[i].killed ? flights[i].deadline + GIVE_UP_MS : flights[i].deadline;
      if (next < 0 || due < next) next = due;
    }
    int timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
    if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR) return 1;
    /* Binders are this server's own children (programs are pmond's, CLONE_PARENT): reaped here. */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    int base = reading ? 1 : 0;
    /* Programs first (walked backwards: land() moves the last one into the freed slot). */
    now = now_ms();
    for (int i = nflights - 1; i >= 0; i--) {
      struct flight *f = &flights[i];
      short re = p[base + i].revents;
      if (re & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = read(f->fd, f->msg + f->got, sizeof f->msg - 1 - f->got);
        if (r > 0) f->got += (size_t)r;
        /* A binder says its one line and waits to be killed: the line is its answer. */
        if (r <= 0 || f->got == sizeof f->msg - 1 || (f->binder && memchr(f->msg, '\n', f->got))) {
          land(i);
          continue;
        }
      }
      if (!f->killed && now >= f->deadline) {
        kill((pid_t)f->pid, SIGKILL);
        f->killed = 1;
      } else if (f->killed && now >= f->deadline + GIVE_UP_MS) {
        land(i); /* still not gone (a file system that ignores even SIGKILL): answer anyway; pmond reaps it */
      }
    }
    if (reading && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      uint32_t len;
      if (read_full(SPEC_FD, &len, 4) != 0) return 0; /* pmond closed it */
      if (len == 0 || len > MAX_SPEC) return 1;
      char *buf = malloc(len);
      if (!buf) return 1;
      if (read_full(SPEC_FD, buf, len) != 0) {
        free(buf);
        return 0;
      }
      serve_one(buf, len);
      free(buf);
    }
  }
}

/* ---------------------------------------------------------------- the log reader */

/*
 * pmon3-exec --read: pmond's reader of one process's log, run AS that process's user (pmond
 * starts it through the one-shot mode, so groups, gid, uid and capabilities are dropped and
 * checked first): it can open only what the user could, and a file system that never answers
 * holds only this process, which pmond kills at its deadline. One request at a time on fd 0,
 * each answered on fd 1; both framed by a 4-byte little-endian length:
 *   "O PATH"          open read-only (O_NOFOLLOW, O_NONBLOCK: a FIFO does not wait for a writer,
 *                     O_NOCTTY) and fstat -> "ok FD MODE UID SIZE INO" | "err ERRNO"
 *   "S FD"            fstat                -> "ok SIZE INO" | "err ERRNO"
 *   "R FD OFFSET LEN" pread <= LEN bytes   -> "ok N\n" and the N bytes | "err ERRNO"
 *   "C FD"            close                -> "ok" | "err ERRNO"
 *   "L PATH"          list PATH's directory for rotated copies of PATH (see read_list)
 *                     -> "ok COUNT MORE\n" and COUNT records | "err ERRNO"
 * EOF on fd 0 ends it. pmond checks what was opened (a regular file of the user's).
 */
#define READ_MAX (1024 * 1024)
#define READ_REQUEST_MAX 8192
static int read_reply(const char *head, const char *data, size_t n) {
  size_t hl = strlen(head);
  uint32_t len = (uint32_t)(hl + n);
  if (write_full(1, &len, 4) != 0 || write_full(1, head, hl) != 0) return -1;
  return n ? write_full(1, data, n) : 0;
}

static int read_fail(int err) {
  char head[32];
  snprintf(head, sizeof head, "err %d", err);
  return read_reply(head, NULL, 0);
}

/* The most entries one "L" reports (MORE is 1 when there were others). */
#define LIST_MAX 1000

/*
 * "L PATH": the entries of PATH's directory whose names are PATH's basename followed by "." or
 * "-" and something more (app.log.1, app.log.2.gz, app.log-20261201): the candidates for its
 * rotated copies; pmond picks the copies among them by name and decides which it reads. Each
 * is lstat'ed (fstatat AT_SYMLINK_NOFOLLOW), never opened: a FIFO, a device or a symlink costs
 * nothing here. The directory is opened O_RDONLY | O_DIRECTORY | O_NONBLOCK as the user (symlinks
 * on the way followed as the user's shell would, as "O" does). A record, NUL-terminated:
 *   "ERRNO MODE UID SIZE INO NAME"   (ERRNO 0: the fields are lstat's; otherwise they are 0)
 */
static int read_list(const char *path, char *buf) {
  const char *slash = strrchr(path, '/');
  if (!slash || !slash[1]) return read_fail(EINVAL);
  const char *base = slash + 1;
  size_t blen = strlen(base);
  char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
  if (!dir) return read_fail(ENOMEM);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  int err = errno;
  free(dir);
  if (dfd < 0) return read_fail(err);
  DIR *d = fdopendir(dfd);
  if (!d) {
    err = errno;
    close(dfd);
    return read_fail(err);
  }
  size_t len = 0;
  int count = 0, more = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno) {
        err = errno;
        closedir(d);
        return read_fail(err);
      }
      break;
    }
    const char *name = e->d_name;
    if (strncmp(name, base, blen) != 0 || (name[blen] != '.' && name[blen] != '-') || !name[blen + 1]) continue;
    struct stat st;
    int serr = 0;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      serr = errno;
      if (serr == ENOENT) continue; /* gone meanwhile */
      memset(&st, 0, sizeof st);
    }
    char rec[96];
    int n = snprintf(rec, sizeof rec, "%d %u %u %lld %llu ", serr, (unsigned)st.st_mode, (unsigned)st.st_uid, (long long)st.st_size,
                     (unsigned long long)st.st_ino);
    size_t nlen = strlen(name);
    if (n < 0 || count == LIST_MAX || len + (size_t)n + nlen + 1 > READ_MAX) {
      more = 1;
      break;
    }
    memcpy(buf + len, rec, (size_t)n);
    memcpy(buf + len + (size_t)n, name, nlen + 1);
    len += (size_t)n + nlen + 1;
    count++;
  }
  closedir(d);
  char head[64];
  snprintf(head, sizeof head, "ok %d %d\n", count, more);
  return read_reply(head, buf, len);
}

/* An fd this reader opened: never its own stdio. */
static int reader_fd(const char *s, int *fd) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || v < 3 || v > INT_MAX) return -1;
  *fd = (int)v;
  return 0;
}

static int read_one(char *req, size_t len, char *buf) {
  req[len] = '\0';
  if (len < 2 || req[1] != ' ' || strlen(req) != len) return read_fail(EINVAL);
  char *arg = req + 2;
  struct stat st;
  char head[160];
  int fd;
  switch (req[0]) {
    case 'O':
      fd = open(arg, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      if (fd < 0) return read_fail(errno);
      if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return read_fail(err);
      }
      snprintf(head, sizeof head, "ok %d %u %u %lld %llu", fd, (unsigned)st.st_mode, (unsigned)st.st_uid, (long long)st.st_size,
               (unsigned long long)st.st_ino);
      return read_reply(head, NULL, 0);
    case 'S':
      if (reader_fd(arg, &fd) != 0) return read_fail(EBADF);
      if (fstat(fd, &st) != 0) return read_fail(errno);
      snprintf(head, sizeof head, "ok %lld %llu", (long long)st.st_size, (unsigned long long)st.st_ino);
      return read_reply(head, NULL, 0);
    case 'R': {
      char *p = arg, *end;
      if (reader_fd(p, &fd) != 0) return read_fail(EBADF);
      p = strchr(p, ' ');
      if (!p) return read_fail(EINVAL);
      long long off = strtoll(p + 1, &end, 10);
      long long want = end && *end == ' ' ? strtoll(end + 1, NULL, 10) : -1;
      if (off < 0 || want < 0) return read_fail(EINVAL);
      if (want > READ_MAX) want = READ_MAX;
      ssize_t n;
      do n = pread(fd, buf, (size_t)want, (off_t)off);
      while (n < 0 && errno == EINTR);
      if (n < 0) return read_fail(errno);
      snprintf(head, sizeof head, "ok %zd\n", n);
      return read_reply(head, buf, (size_t)n);
    }
    case 'C':
      if (reader_fd(arg, &fd) != 0) return read_fail(EBADF);
      if (close(fd) != 0) return read_fail(errno);
      return read_reply("ok", NULL, 0);
    case 'L':
      return read_list(arg, buf);
    default:
      return read_fail(EINVAL);
  }
}

static int read_serve(void) {
  char *buf = malloc(READ_MAX);
  char req[READ_REQUEST_MAX + 1];
  if (!buf) return 1;
  for (;;) {
    uint32_t len;
    if (read_full(0, &len, 4) != 0) return 0; /* pmond closed it: done */
    if (len > READ_REQUEST_MAX || read_full(0, req, len) != 0) return 1;
    if (read_one(req, len, buf) != 0) return 0; /* pmond is gone */
  }
}

/* ---------------------------------------------------------------- one-shot */

static int one_shot(void) {
  /* The reply channel must not survive a successful execve. */
  if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) != 0) _exit(127);
  size_t cap = 64 * 1024, len = 0;
  char *buf = malloc(cap);
  if (!buf) fail_to(STATUS_FD, "spec", ENOMEM);
  for (;;) {
    if (len == cap) {
      if (cap >= MAX_SPEC) fail_to(STATUS_FD, "spec", E2BIG);
      cap *= 2;
      char *p = realloc(buf, cap);
      if (!p) fail_to(STATUS_FD, "spec", ENOMEM);
      buf = p;
    }
    ssize_t n = read(SPEC_FD, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_to(STATUS_FD, "spec", errno);
    if (n == 0) break;
    len += (size_t)n;
  }
  close(SPEC_FD);
  struct spec s;
  int err = parse_spec(buf, len, &s);
  if (err) fail_to(STATUS_FD, "spec", err);
  /* Cgroups need the server (the process is born in its cgroup); one-shot runs without. */
  if (*s.cgroup) fail_to(STATUS_FD, "cgroup", EINVAL);
  /* Sockets are the server's: a one-shot helper has none to give. */
  if (s.nsock > 0) fail_to(STATUS_FD, "socket", EINVAL);
  /* So are log pipes. */
  if (strncmp(s.log_kind, "pipe", 4) == 0) fail_to(STATUS_FD, "log", EINVAL);
  if (strcmp(s.log_kind, "daemon") == 0) {
    const char *stage;
    int fd = open_daemon_log(&s, &stage);
    if (fd < 0) fail_to(STATUS_FD, stage, errno);
    if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0) fail_to(STATUS_FD, "log", errno);
    close(fd);
  }
  if (*s.stdin_path) {
    int fd = open_stdin_fifo(&s);
    if (fd < 0 || dup2(fd, 0) < 0) fail_to(STATUS_FD, "stdin", errno);
    close(fd);
  }
  run_child(&s, STATUS_FD, 0);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--server") == 0) return serve();
  if (argc == 2 && strcmp(argv[1], "--read") == 0) return read_serve();
  if (argc > 1) return 2;
  return one_shot();
}
