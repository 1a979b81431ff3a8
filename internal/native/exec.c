/*
 * pmon3-exec: the one way pmond starts a process.
 *
 * pmond runs this program with an EMPTY environment and a fixed argv, so that
 * nothing a user chose (LD_PRELOAD, LD_AUDIT, GCONV_PATH, NODE_OPTIONS, ...)
 * reaches a program running with root's rights. What to run arrives on fd 3
 * (the spec, below: a memfd pmond filled before the spawn, read to its end);
 * failures go back on fd 4 (close-on-exec: EOF without a
 * byte means the execve succeeded). In order:
 *
 *   1. read the spec from fd 3 (bounded), close it;
 *   2. still privileged: join the cgroup (write "0" to its cgroup.procs), if one is named;
 *   3. drop privileges: setgroups, setgid, setuid, and check that they stuck
 *      (and that uid 0 cannot be regained); an unprivileged caller may only
 *      run as itself;
 *   4. as the user: open the log (O_NOFOLLOW, must be a regular file the user owns),
 *      make it stdout and stderr; chdir; find the binary (a bare name through
 *      the PATH of the child's environment); execve with the child's environment.
 *
 * The pid stays the same through every execve, so pmond's child is the program.
 * Later features (LISTEN_PID, rlimits) belong here, between steps 3 and 4.
 *
 * Spec on fd 3: NUL-terminated strings, in this order:
 *   "pmon3-exec/1", uid, gid, ngroups, group..., cgroup_procs ("" = none),
 *   log ("" = keep the inherited fds 1 and 2), log_mkdir ("1" = create missing
 *   parent directories of log, as the user), cwd, file, argc, argv..., envc, env...
 *
 * Reply on fd 4 when something fails: "STAGE ERRNO MESSAGE\n" (strerror, C locale), then exit 127
 * (126 when the file exists but cannot be executed, as shells do).
 * STAGE is one of: spec, cgroup, groups, gid, uid, verify, log, logowner, chdir,
 * exec (a path), path (a bare name looked up in PATH).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define SPEC_FD 3
#define STATUS_FD 4
/* Largest spec: argv + env are bounded by pmond far below this. */
#define MAX_SPEC (8 * 1024 * 1024)
#define MAX_GROUPS 65536

static void fail(const char *stage, int err) {
  char buf[160];
  int n = snprintf(buf, sizeof buf, "%s %d %s\n", stage, err, strerror(err));
  if (n > 0) {
    ssize_t w = write(STATUS_FD, buf, (size_t)n);
    (void)w;
  }
  _exit(err == EACCES || err == ENOEXEC || err == EISDIR ? 126 : 127);
}

/* The spec, split into its strings. */
static char *spec;
static size_t spec_len, spec_pos;

static const char *next(void) {
  if (spec_pos >= spec_len) fail("spec", EINVAL);
  const char *s = spec + spec_pos;
  const char *end = memchr(s, '\0', spec_len - spec_pos);
  if (!end) fail("spec", EINVAL);
  spec_pos = (size_t)(end - spec) + 1;
  return s;
}

static long number(long min, long max) {
  const char *s = next();
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) fail("spec", EINVAL);
  return v;
}

static void read_spec(void) {
  size_t cap = 64 * 1024;
  spec = malloc(cap);
  if (!spec) fail("spec", ENOMEM);
  for (;;) {
    if (spec_len == cap) {
      if (cap >= MAX_SPEC) fail("spec", E2BIG);
      cap *= 2;
      char *p = realloc(spec, cap);
      if (!p) fail("spec", ENOMEM);
      spec = p;
    }
    ssize_t n = read(SPEC_FD, spec + spec_len, cap - spec_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("spec", errno);
    if (n == 0) break;
    spec_len += (size_t)n;
  }
  close(SPEC_FD);
}

/* mkdir -p of the parents of path, as the (already unprivileged) user. */
static void make_parents(const char *path) {
  char *p = strdup(path);
  if (!p) fail("log", ENOMEM);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0750) != 0 && errno != EEXIST) fail("log", errno);
    *s = '/';
  }
  free(p);
}

/* execve file, looking a bare name up in the PATH of envp (as execvp does, without running sh on ENOEXEC). */
static void run(const char *file, char **argv, char **envp) {
  if (strchr(file, '/')) {
    execve(file, argv, envp);
    int err = errno;
    struct stat st;
    /* execve says EACCES for a directory; a shell says "Is a directory". Asked as the user. */
    if (err == EACCES && stat(file, &st) == 0 && S_ISDIR(st.st_mode)) err = EISDIR;
    fail("exec", err);
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
    /* An empty PATH entry means the current directory (POSIX). */
    if (dlen == 0) {
      if (flen + 1 > sizeof buf) fail("exec", ENAMETOOLONG);
      memcpy(buf, file, flen + 1);
    } else {
      if (dlen + 1 + flen + 1 > sizeof buf) goto skip;
      memcpy(buf, p, dlen);
      buf[dlen] = '/';
      memcpy(buf + dlen + 1, file, flen + 1);
    }
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
        fail("exec", errno);
    }
  skip:
    if (!*colon) break;
    p = colon + 1;
  }
  /* "command not found" when nothing matched; EACCES if something matched but could not run. */
  fail("path", seen_eacces ? EACCES : ENOENT);
}

int main(void) {
  /* The reply channel must not survive a successful execve. */
  if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) != 0) _exit(127);
  read_spec();
  if (strcmp(next(), "pmon3-exec/1") != 0) fail("spec", EPROTO);
  uid_t uid = (uid_t)number(0, 0x7fffffff);
  gid_t gid = (gid_t)number(0, 0x7fffffff);
  long ngroups = number(0, MAX_GROUPS);
  gid_t *groups = calloc((size_t)ngroups + 1, sizeof(gid_t));
  if (!groups) fail("spec", ENOMEM);
  for (long i = 0; i < ngroups; i++) groups[i] = (gid_t)number(0, 0x7fffffff);
  const char *cgroup = next();
  const char *log = next();
  int log_mkdir = strcmp(next(), "1") == 0;
  const char *cwd = next();
  const char *file = next();
  long argc = number(1, 1 << 20);
  char **argv = calloc((size_t)argc + 1, sizeof(char *));
  if (!argv) fail("spec", ENOMEM);
  for (long i = 0; i < argc; i++) argv[i] = (char *)next();
  long envc = number(0, 1 << 20);
  char **envp = calloc((size_t)envc + 1, sizeof(char *));
  if (!envp) fail("spec", ENOMEM);
  for (long i = 0; i < envc; i++) envp[i] = (char *)next();
  if (spec_pos != spec_len) fail("spec", EINVAL);

  /* 2. The cgroup, while we may still write to it. */
  if (*cgroup) {
    int fd = open(cgroup, O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("cgroup", errno);
    if (write(fd, "0\n", 2) != 2) fail("cgroup", errno);
    close(fd);
  }

  /* 3. Become the user, for good. */
  if (getuid() == 0 || geteuid() == 0) {
    if (setgroups((size_t)ngroups, groups) != 0) fail("groups", errno);
    if (setresgid(gid, gid, gid) != 0) fail("gid", errno);
    if (setresuid(uid, uid, uid) != 0) fail("uid", errno);
  } else if (getuid() != uid || getgid() != gid) {
    /* An unprivileged pmond can only run processes as itself. */
    fail("uid", EPERM);
  }
  {
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid) fail("verify", EPERM);
    if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) fail("verify", EPERM);
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) fail("verify", EPERM);
  }

  /* 4. Everything the user named is touched with the user's rights only. */
  if (*log) {
    if (log_mkdir) make_parents(log);
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0640);
    if (fd < 0) fail("log", errno);
    struct stat st;
    if (fstat(fd, &st) != 0) fail("log", errno);
    if (!S_ISREG(st.st_mode) || st.st_uid != uid) fail("logowner", EPERM);
    if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0) fail("log", errno);
    close(fd);
  }
  if (chdir(cwd) != 0) fail("chdir", errno);
  run(file, argv, envp);
  return 127;
}
