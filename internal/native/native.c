/*
 * pmon3's N-API addon: what Node cannot do by itself.
 *
 *   getPeerCred(fd) -> { pid, uid, gid }   the peer of a Unix socket, from the kernel
 *                                          (SO_PEERCRED): nothing a client says about itself is trusted.
 *   openAs(path, flags, mode, uid, gid, groups) -> fd
 *                                          open(2) with a user's filesystem rights: the calling
 *                                          thread's fsuid, fsgid and groups are switched for the one
 *                                          call and switched back. Raw syscalls, not glibc's wrappers:
 *                                          glibc broadcasts setgroups/setuid to every thread of the
 *                                          process, and libuv's pool threads must keep root's rights.
 *                                          The open runs without effective capabilities and,
 *                                          where openat2 exists (magicLinksRefused), follows no
 *                                          /proc magic link. Always O_NOCTTY: pmond is a session
 *                                          leader without a terminal (systemd, setsid), and a
 *                                          terminal it opened without it would become its
 *                                          controlling terminal, driven (^C, ^Z, hangup) by
 *                                          whoever holds the master.
 *   pollErr(fd) -> boolean                 whether fd reports POLLERR/POLLHUP now (a pipe whose
 *                                          reader is gone: `pmon3 logf x | head -1`).
 *   memfd(buffer) -> fd                    an anonymous in-memory file holding buffer, read from
 *                                          its start: the exec helper's spec, handed over at once
 *                                          (no pipe to drain through the event loop, no disk).
 *   procStats(pids, out) -> Promise<boot seconds>
 *                                          /proc/PID/stat of every pid in one job on libuv's pool
 *                                          (on copies: the caller's arrays are only read at the call
 *                                          and written when it completes): out[3i..3i+2] get its
 *                                          utime+stime and start time (clock ticks) and its RSS
 *                                          (pages), NaN for a pid that is gone.
 *                                          pidusage does a pool read, a callback and a parsed string
 *                                          per pid (~50 ms of pmond's loop for 1000); this is one
 *                                          callback, nothing allocated per pid.
 *   startReaper(cb), watchPid(pid)         pmond's own reaper for children libuv does not know:
 *                                          the exec helper creates a program as pmond's child with
 *                                          clone3(CLONE_PARENT), so pmond must wait for it itself.
 *                                          One thread, one epoll over pidfds; each exit is reaped
 *                                          (waitid P_PIDFD) and reported as cb(pid, code, signal).
 *                                          libuv only ever waits for the pids it spawned, so the two
 *                                          never take each other's children.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>
#include <linux/capability.h>
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif
#ifndef RESOLVE_NO_MAGICLINKS
/* Headers older than Linux 5.6: the ABI is fixed, so declare it here. */
#include <stdint.h>
struct open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

#define MAX_GROUPS 65536

/* The errno's name, as Node's own fs errors carry it (strerrorname_np needs glibc 2.32). */
static const char *errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ELOOP: return "ELOOP";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EROFS: return "EROFS";
    case ENOSPC: return "ENOSPC";
    case ENXIO: return "ENXIO";
    case EAGAIN: return "EAGAIN";
    case ETXTBSY: return "ETXTBSY";
    case EEXIST: return "EEXIST";
    case ENOTSOCK: return "ENOTSOCK";
    case EBADF: return "EBADF";
    case ESRCH: return "ESRCH";
    default: return "EIO";
  }
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[200];
  char code[32];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value e, c, m;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  snprintf(code, sizeof code, "%s", errno_name(err));
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_set_named_property(env, e, "code", c);
  napi_create_int32(env, err, &c);
  napi_set_named_property(env, e, "errno", c);
  napi_throw(env, e);
  return NULL;
}

static napi_value get_peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  struct ucred cred;
  socklen_t len = sizeof cred;
  napi_value out, v;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "getPeerCred(fd): fd must be a number");
    return NULL;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);

  napi_create_object(env, &out);
  napi_create_int32(env, cred.pid, &v);
  napi_set_named_property(env, out, "pid", v);
  napi_create_uint32(env, cred.uid, &v);
  napi_set_named_property(env, out, "uid", v);
  napi_create_uint32(env, cred.gid, &v);
  napi_set_named_property(env, out, "gid", v);
  return out;
}

/* The thread's filesystem identity: fsuid, fsgid, supplementary groups. */
struct fsid {
  uid_t uid;
  gid_t gid;
  int ngroups;
  gid_t *groups;
};

/* Switch this thread (only) to id. Returns 0, or an errno. */
static int set_fsid(const struct fsid *id) {
  if (syscall(SYS_setgroups, (size_t)id->ngroups, id->groups) != 0) return errno;
  syscall(SYS_setfsgid, id->gid);
  syscall(SYS_setfsuid, id->uid);
  /* setfsuid/setfsgid report nothing useful on failure: ask for the current value (-1 changes nothing). */
  if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != id->uid || (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != id->gid) return EPERM;
  return 0;
}

/*
 * open(2) that follows no magic link: /proc/PID/cwd, /root and /fd/N jump straight to their
 * target, past every directory on the way (a user's 0700 home). openat2 RESOLVE_NO_MAGICLINKS
 * where the kernel has it (Linux 5.6+); a plain open where it answers ENOSYS (then the dropped
 * capabilities alone keep another user's magic links shut; magicLinksRefused says which).
 */
static int open_no_magic(const char *path, int flags, mode_t mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(unsigned)flags;
  how.mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd >= 0 || errno != ENOSYS) return fd;
  return open(path, flags, mode);
}

/* This thread's capability sets (capget/capset on tid 0 act on the calling thread only). */
struct caps {
  struct __user_cap_header_struct head;
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
};

static int get_caps(struct caps *c) {
  memset(c, 0, sizeof *c);
  c->head.version = _LINUX_CAPABILITY_VERSION_3;
  return (int)syscall(SYS_capget, &c->head, c->data);
}

static int set_caps(struct caps *c) {
  c->head.version = _LINUX_CAPABILITY_VERSION_3;
  c->head.pid = 0;
  return (int)syscall(SYS_capset, &c->head, c->data);
}

static napi_value open_as(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  char path[4097];
  size_t plen;
  int32_t flags, mode;
  uint32_t uid, gid, n = 0;
  bool is_array = false;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok ||
      napi_get_value_int32(env, argv[1], &flags) != napi_ok || napi_get_value_int32(env, argv[2], &mode) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &uid) != napi_ok || napi_get_value_uint32(env, argv[4], &gid) != napi_ok ||
      napi_is_array(env, argv[5], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[5], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "openAs(path, flags, mode, uid, gid, groups)");
    return NULL;
  }
  if (plen >= sizeof path - 1 || strlen(path) != plen) return throw_errno(env, "openAs", ENAMETOOLONG);
  if (n > MAX_GROUPS) return throw_errno(env, "openAs", EINVAL);

  int fd, err = 0;
  flags |= O_CLOEXEC | O_NOCTTY;
  if (geteuid() != 0 || uid == 0) {
    /* Nothing to switch: an unprivileged pmond has only its own rights, and uid 0 is root's own. */
    fd = open_no_magic(path, flags, (mode_t)mode);
    err = errno;
  } else {
    struct fsid user = {uid, gid, (int)n, calloc(n + 1, sizeof(gid_t))};
    struct fsid saved = {(uid_t)syscall(SYS_setfsuid, (uid_t)-1), (gid_t)syscall(SYS_setfsgid, (gid_t)-1), 0, NULL};
    saved.ngroups = getgroups(0, NULL);
    saved.groups = calloc((size_t)(saved.ngroups > 0 ? saved.ngroups : 0) + 1, sizeof(gid_t));
    if (!user.groups || !saved.groups || saved.ngroups < 0 || getgroups(saved.ngroups, saved.groups) != saved.ngroups) {
      free(user.groups);
      free(saved.groups);
      return throw_errno(env, "openAs", ENOMEM);
    }
    for (uint32_t i = 0; i < n; i++) {
      napi_value g;
      uint32_t v = 0;
      napi_get_element(env, argv[5], i, &g);
      napi_get_value_uint32(env, g, &v);
      user.groups[i] = (gid_t)v;
    }
    /*
     * The user's rights are more than an fsuid: the open runs with no effective capability.
     * A changed fsuid clears only the file-system ones (and not even those under securebits
     * SECBIT_NO_SETUID_FIXUP); CAP_SYS_PTRACE would pass the ptrace check that guards another
     * user's /proc/PID/cwd, /root and /fd. Dropped after the fsid switch (which needs
     * CAP_SETUID/CAP_SETGID), raised again before switching back.
     */
    struct caps root_caps, none;
    if (get_caps(&root_caps) != 0) err = errno;
    else err = set_fsid(&user);
    fd = -1;
    if (err == 0) {
      none = root_caps;
      for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) none.data[i].effective = 0;
      if (set_caps(&none) != 0) {
        err = errno;
      } else {
        fd = open_no_magic(path, flags, (mode_t)mode);
        err = fd < 0 ? errno : 0;
        /* Back to root's capabilities. If that fails this thread would go on without them: stop. */
        if (set_caps(&root_caps) != 0) abort();
      }
    }
    /* Back to root's rights. If that fails this thread would go on with the wrong identity: stop. */
    if (set_fsid(&saved) != 0) abort();
    free(user.groups);
    free(saved.groups);
  }
  if (fd < 0) return throw_errno(env, path, err);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static napi_value poll_err(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "pollErr(fd): fd must be a number");
    return NULL;
  }
  struct pollfd p = {fd, POLLOUT, 0};
  int r = poll(&p, 1, 0);
  napi_get_boolean(env, r == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0, &out);
  return out;
}

static napi_value mem_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  void *data;
  size_t len;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "memfd(buffer)");
    return NULL;
  }
  /* The raw syscall, as for pidfd_open: glibc declares memfd_create() only since 2.27 (musl
   * since 1.1.20), and an undeclared call is an implicit declaration, an error under GCC 14. */
  int fd = (int)syscall(SYS_memfd_create, "pmon3-spec", MFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "memfd_create", errno);
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, (const char *)data + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(fd);
      return throw_errno(env, "memfd write", err);
    }
    off += (size_t)n;
  }
  if (lseek(fd, 0, SEEK_SET) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "memfd lseek", err);
  }
  napi_create_int32(env, fd, &out);
  return out;
}

/* ---------------------------------------------------------------- the reaper */

static int reaper_epoll = -1;
static napi_threadsafe_function reaper_tsfn;

struct exit_msg {
  int pid;
  int code;   /* exit status, or -1 */
  int signal; /* terminating signal, or 0 */
};

static void *reaper_main(void *arg) {
  (void)arg;
  /* Signals belong to Node's main thread. */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(reaper_epoll, evs, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      int fd = (int)(evs[i].data.u64 & 0xffffffffu);
      int pid = (int)(evs[i].data.u64 >> 32);
      siginfo_t si;
      memset(&si, 0, sizeof si);
      int r = waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG);
      if (r == 0 && si.si_pid == 0) continue; /* not exited yet */
      epoll_ctl(reaper_epoll, EPOLL_CTL_DEL, fd, NULL);
      close(fd);
      struct exit_msg *m = malloc(sizeof *m);
      if (!m) continue;
      m->pid = pid;
      m->code = -1;
      m->signal = 0;
      if (r == 0 && si.si_code == CLD_EXITED) m->code = si.si_status;
      else if (r == 0 && (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)) m->signal = si.si_status;
      napi_call_threadsafe_function(reaper_tsfn, m, napi_tsfn_blocking);
    }
  }
}

static void reaper_call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  struct exit_msg *m = data;
  if (env && cb) {
    napi_value args[3], undef;
    napi_create_int32(env, m->pid, &args[0]);
    napi_create_int32(env, m->code, &args[1]);
    napi_create_int32(env, m->signal, &args[2]);
    napi_get_undefined(env, &undef);
    napi_call_function(env, undef, cb, 3, args, NULL);
  }
  free(m);
}

static napi_value start_reaper(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok ||
      t != napi_function) {
    napi_throw_type_error(env, NULL, "startReaper(callback)");
    return NULL;
  }
  if (reaper_epoll >= 0) return throw_errno(env, "startReaper: already started", EEXIST);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return throw_errno(env, "epoll_create1", errno);
  napi_create_string_utf8(env, "pmon3 reaper", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, reaper_call_js, &reaper_tsfn) != napi_ok) {
    close(ep);
    napi_throw_error(env, NULL, "startReaper: cannot create the callback");
    return NULL;
  }
  /* The reaper alone never keeps the process alive. */
  napi_unref_threadsafe_function(env, reaper_tsfn);
  reaper_epoll = ep;
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&th, &attr, reaper_main, NULL);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    reaper_epoll = -1;
    close(ep);
    return throw_errno(env, "pthread_create", err);
  }
  return NULL;
}

static napi_value watch_pid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t pid;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "watchPid(pid)");
    return NULL;
  }
  if (reaper_epoll < 0) return throw_errno(env, "watchPid: the reaper is not started", EINVAL);
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return throw_errno(env, "pidfd_open", errno);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = ((uint64_t)(uint32_t)pid << 32) | (uint32_t)fd;
  if (epoll_ctl(reaper_epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "epoll_ctl", err);
  }
  return NULL;
}

/* ------------------------------------------------------------- sd_notify */

/*
 * One datagram socket (AF_UNIX, SOCK_DGRAM) every instance can send sd_notify messages to
 * ($NOTIFY_SOCKET). SO_PASSCRED: each message carries the sender's pid and uid from the kernel
 * (a sender can name another pid only with CAP_SYS_ADMIN), so a message is the instance's only if
 * the kernel says so. A thread reads it: a message over NOTIFY_MAX bytes is dropped, fds sent
 * with it (SCM_RIGHTS, systemd's FDSTORE) are closed at once, and at most NOTIFY_QUEUE messages
 * wait for the JS thread (more are dropped: a flood costs the sender, not pmond's memory).
 */
#define NOTIFY_MAX 4096
#define NOTIFY_QUEUE 1024

static int notify_fd = -1;
static napi_threadsafe_function notify_tsfn;

struct notify_msg {
  int pid;
  int uid;
  size_t len;
  char text[];
};

/*
 * fds that arrive with a notify message (SCM_RIGHTS: anyone may send them) are never closed
 * where they could block the reader: a socket is closed at once but abortively (SO_LINGER 0: a
 * lingering TCP socket with unsent data would otherwise hold close() as long as its sender
 * likes); anything else (a FUSE file's close waits for its daemon) goes to a closer thread
 * through a non-blocking pipe (16K fds), and only past that is closed here.
 */
static int closer_pipe[2] = {-1, -1};

static void *closer_main(void *arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  for (;;) {
    int fds[64];
    ssize_t n = read(closer_pipe[0], fds, sizeof fds);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    for (ssize_t i = 0; i < n / (ssize_t)sizeof(int); i++) close(fds[i]);
  }
}

static void drop_fd(int fd) {
  int type;
  socklen_t tl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0) {
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
    return;
  }
  if (closer_pipe[1] >= 0 && write(closer_pipe[1], &fd, sizeof fd) == (ssize_t)sizeof fd) return;
  close(fd);
}

static void *notify_main(void *arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  static char buf[NOTIFY_MAX + 1];
  for (;;) {
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 32)];
    } ctl;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.b;
    mh.msg_controllen = sizeof ctl.b;
    ssize_t n = recvmsg(notify_fd, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS || errno == ENOMEM) continue;
      return NULL;
    }
    struct ucred cred;
    int have = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_RIGHTS) {
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < k; i++) drop_fd(fds[i]);
      } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof cred)) {
        memcpy(&cred, CMSG_DATA(c), sizeof cred);
        have = 1;
      }
    }
    if (!have || n > NOTIFY_MAX || (mh.msg_flags & MSG_TRUNC)) continue;
    struct notify_msg *m = malloc(sizeof *m + (size_t)n);
    if (!m) continue;
    m->pid = (int)cred.pid;
    m->uid = (int)cred.uid;
    m->len = (size_t)n;
    memcpy(m->text, buf, (size_t)n);
    if (napi_call_threadsafe_function(notify_tsfn, m, napi_tsfn_nonblocking) != napi_ok) free(m);
  }
}

static void notify_call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  struct notify_msg *m = data;
  if (env && cb) {
    napi_value args[3], undef;
    napi_create_int32(env, m->pid, &args[0]);
    napi_create_int32(env, m->uid, &args[1]);
    napi_create_string_latin1(env, m->text, m->len, &args[2]);
    napi_get_undefined(env, &undef);
    napi_call_function(env, undef, cb, 3, args, NULL);
  }
  free(m);
}

/* startNotify(path, cb): bind the socket at path (0666; pmond's directory guards it), read it in a thread. */
static napi_value start_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  napi_valuetype t;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || napi_typeof(env, argv[1], &t) != napi_ok ||
      t != napi_function) {
    napi_throw_type_error(env, NULL, "startNotify(path, callback)");
    return NULL;
  }
  if (len == 0 || len >= sizeof path - 1) return throw_errno(env, "startNotify: path", ENAMETOOLONG);
  if (notify_fd >= 0) return throw_errno(env, "startNotify: already started", EEXIST);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1, rcv = 256 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, len);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  if (chmod(path, 0666) != 0) {
    int err = errno;
    close(fd);
    unlink(path);
    return throw_errno(env, "chmod", err);
  }
  napi_create_string_utf8(env, "pmon3 notify", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, NOTIFY_QUEUE, 1, NULL, NULL, NULL, notify_call_js, &notify_tsfn) != napi_ok) {
    close(fd);
    napi_throw_error(env, NULL, "startNotify: cannot create the callback");
    return NULL;
  }
  napi_unref_threadsafe_function(env, notify_tsfn);
  notify_fd = fd;
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (closer_pipe[0] < 0 && pipe2(closer_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
    /* The closer reads blocking; the reader writes without ever waiting. */
    fcntl(closer_pipe[0], F_SETFL, 0);
    pthread_t ct;
    if (pthread_create(&ct, &attr, closer_main, NULL) != 0) {
      close(closer_pipe[0]);
      close(closer_pipe[1]);
      closer_pipe[0] = closer_pipe[1] = -1;
    }
  }
  int err = pthread_create(&th, &attr, notify_main, NULL);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    notify_fd = -1;
    close(fd);
    return throw_errno(env, "pthread_create", err);
  }
  return NULL;
}

/* Fields 14 (utime), 15 (stime), 22 (starttime), 24 (rss) of /proc/PID/stat text; the command
 * name (field 2) may hold spaces and ')' so the fields are counted from its last ')'. */
static int parse_stat(const char *buf, double *out) {
  const char *p = strrchr(buf, ')');
  if (!p) return -1;
  p++;
  /* After ") ", field 3 is the first; fields are separated by one space. */
  int field = 2;
  double ut = 0, st = 0, start = 0;
  while (*p) {
    if (*p == ' ') {
      field++;
      p++;
      if (field == 14 || field == 15 || field == 22 || field == 24) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) return -1;
        if (field == 14) ut = v;
        else if (field == 15) st = v;
        else if (field == 22) start = v;
        else {
          out[0] = ut + st;
          out[1] = start;
          out[2] = v;
          return 0;
        }
        p = end;
      }
      continue;
    }
    p++;
  }
  return -1;
}

/* Read /proc/PID/stat of n pids into out (3 doubles each, NaN when gone); seconds since boot after. */
static double read_stats(const int32_t *pids, double *res, size_t n) {
  char path[40], buf[1024];
  for (size_t i = 0; i < n; i++) {
    double *o = res + 3 * i;
    o[0] = o[1] = o[2] = NAN;
    if (pids[i] <= 0) continue;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pids[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0) continue;
    buf[r] = 0;
    if (parse_stat(buf, o) != 0) o[0] = o[1] = o[2] = NAN;
  }
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One procStats call: the reads run on libuv's pool (~10 us a pid in the kernel: 1000 pids would
 * hold the event loop ~10 ms) on copies in this job's own memory: the caller's arrays could be
 * detached or shrunk meanwhile (a transfer, a resizable buffer), so the pool thread never touches
 * them. The results are copied into `out` when the job completes, if it still has room. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref out_ref;
  int32_t *pids;
  double *res;
  size_t n;
  double boot;
} stats_job;

static void stats_free(napi_env env, stats_job *j) {
  if (j->out_ref) napi_delete_reference(env, j->out_ref);
  if (j->work) napi_delete_async_work(env, j->work);
  free(j->pids);
  free(j->res);
  free(j);
}

static void stats_execute(napi_env env, void *data) {
  (void)env;
  stats_job *j = data;
  j->boot = read_stats(j->pids, j->res, j->n);
}

static void stats_reject(napi_env env, napi_deferred d, const char *text) {
  napi_value msg, err;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_reject_deferred(env, d, err);
}

static void stats_complete(napi_env env, napi_status status, void *data) {
  stats_job *j = data;
  napi_value out, v, ab;
  napi_typedarray_type t;
  size_t len = 0, off;
  void *d = NULL;
  if (status != napi_ok) {
    stats_reject(env, j->deferred, "procStats was cancelled");
  } else if (napi_get_reference_value(env, j->out_ref, &out) != napi_ok || out == NULL ||
             napi_get_typedarray_info(env, out, &t, &len, &d, &ab, &off) != napi_ok || t != napi_float64_array ||
             (j->n > 0 && (d == NULL || len < j->n * 3))) {
    stats_reject(env, j->deferred, "procStats: out lost its room meanwhile (detached or shrunk)");
  } else {
    if (j->n > 0) memcpy(d, j->res, j->n * 3 * sizeof(double));
    napi_create_double(env, j->boot, &v);
    napi_resolve_deferred(env, j->deferred, v);
  }
  stats_free(env, j);
}

static napi_value proc_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], promise, name;
  napi_typedarray_type t1, t2;
  size_t n1, n2, off;
  void *d1, *d2;
  napi_value ab;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_typedarray_info(env, argv[0], &t1, &n1, &d1, &ab, &off) != napi_ok || t1 != napi_int32_array ||
      napi_get_typedarray_info(env, argv[1], &t2, &n2, &d2, &ab, &off) != napi_ok || t2 != napi_float64_array ||
      n2 < n1 * 3) {
    napi_throw_type_error(env, NULL, "procStats(pids, out): pids an Int32Array, out a Float64Array of 3 per pid");
    return NULL;
  }
  stats_job *j = calloc(1, sizeof *j);
  if (j) {
    j->n = n1;
    j->pids = malloc(n1 ? n1 * sizeof(int32_t) : 1);
    j->res = malloc(n1 ? n1 * 3 * sizeof(double) : 1);
  }
  if (!j || !j->pids || !j->res) {
    if (j) stats_free(env, j);
    return throw_errno(env, "procStats", ENOMEM);
  }
  if (n1) memcpy(j->pids, d1, n1 * sizeof(int32_t));
  /* Every step that can fail before the promise exists; the job is undone in one place. */
  if (napi_create_reference(env, argv[1], 1, &j->out_ref) != napi_ok ||
      napi_create_string_utf8(env, "pmon3.procStats", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, stats_execute, stats_complete, j, &j->work) != napi_ok ||
      napi_create_promise(env, &j->deferred, &promise) != napi_ok) {
    stats_free(env, j);
    napi_throw_error(env, NULL, "procStats: out of N-API resources");
    return NULL;
  }
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    stats_reject(env, j->deferred, "procStats: could not queue the reads");
    stats_free(env, j);
  }
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "getPeerCred", NAPI_AUTO_LENGTH, get_peer_cred, NULL, &fn);
  napi_set_named_property(env, exports, "getPeerCred", fn);
  napi_create_function(env, "openAs", NAPI_AUTO_LENGTH, open_as, NULL, &fn);
  napi_set_named_property(env, exports, "openAs", fn);
  /* Whether openAs refuses magic links (openat2 there): the probe opens "/" and closes it. */
  struct open_how how;
  memset(&how, 0, sizeof how);
  int probe = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
  if (probe >= 0) close(probe);
  napi_get_boolean(env, probe >= 0 || errno != ENOSYS, &fn);
  napi_set_named_property(env, exports, "magicLinksRefused", fn);
  napi_create_function(env, "pollErr", NAPI_AUTO_LENGTH, poll_err, NULL, &fn);
  napi_set_named_property(env, exports, "pollErr", fn);
  napi_create_function(env, "memfd", NAPI_AUTO_LENGTH, mem_fd, NULL, &fn);
  napi_set_named_property(env, exports, "memfd", fn);
  napi_create_function(env, "startReaper", NAPI_AUTO_LENGTH, start_reaper, NULL, &fn);
  napi_set_named_property(env, exports, "startReaper", fn);
  napi_create_function(env, "watchPid", NAPI_AUTO_LENGTH, watch_pid, NULL, &fn);
  napi_set_named_property(env, exports, "watchPid", fn);
  napi_create_function(env, "startNotify", NAPI_AUTO_LENGTH, start_notify, NULL, &fn);
  napi_set_named_property(env, exports, "startNotify", fn);
  napi_create_function(env, "procStats", NAPI_AUTO_LENGTH, proc_stats, NULL, &fn);
  napi_set_named_property(env, exports, "procStats", fn);
  long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
  napi_create_int64(env, hz > 0 ? hz : 100, &fn); /* Linux's USER_HZ when sysconf cannot say */
  napi_set_named_property(env, exports, "clockTicks", fn);
  napi_create_int64(env, page > 0 ? page : 4096, &fn);
  napi_set_named_property(env, exports, "pageSize", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
