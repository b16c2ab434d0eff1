/* opencvm-ga: a small guest agent for the tiny image, speaking the QEMU guest agent protocol
 * (the subset OpenCVM uses) on the virtio-serial port org.qemu.guest_agent.0.
 *
 * Debian's qemu-guest-agent needs glib and would triple the tiny image; this is one static
 * binary. Commands: guest-sync, guest-sync-delimited, guest-ping, guest-info, guest-exec,
 * guest-exec-status, guest-set-user-password, guest-fsfreeze-freeze, guest-fsfreeze-thaw,
 * guest-fsfreeze-status. Replies are newline-terminated JSON, as qemu-ga sends them; a 0xFF
 * byte from the host resets the request parser.
 *
 * Build: gcc -static -Os -o opencvm-ga opencvm-ga.c
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PORT_NAME "org.qemu.guest_agent.0"
#define MAX_REQUEST (1 << 20)
#define MAX_CAPTURE (4 << 20) /* per stream of a guest-exec; the rest is dropped (truncated) */
#define MAX_EXEC 64

/* ------------------------------------------------------------------ growable buffer */
typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *d, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n + 1) c *= 2;
        char *np = realloc(b->p, c);
        if (!np) abort();
        b->p = np;
        b->cap = c;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_printf(buf_t *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}
static void buf_free(buf_t *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
static void buf_json_str(buf_t *b, const char *s) {
    buf_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf_add(b, "\\", 1);
            buf_add(b, s, 1);
        } else if (c < 0x20) {
            buf_printf(b, "\\u%04x", c);
        } else {
            buf_add(b, s, 1);
        }
    }
    buf_add(b, "\"", 1);
}

/* ------------------------------------------------------------------ base64 */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static void b64_encode(buf_t *out, const unsigned char *d, size_t n) {
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        char q[4] = {B64[v >> 18 & 63], B64[v >> 12 & 63], i + 1 < n ? B64[v >> 6 & 63] : '=',
                     i + 2 < n ? B64[v & 63] : '='};
        buf_add(out, q, 4);
    }
}
static int b64_decode(buf_t *out, const char *s) {
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(B64, *s);
        if (!p || !*s) {
            if (isspace((unsigned char)*s)) continue;
            return -1;
        }
        acc = acc << 6 | (uint32_t)(p - B64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char c = (char)(acc >> bits & 0xff);
            buf_add(out, &c, 1);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ JSON (requests only) */
enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct jv {
    int type;
    char *str;  /* J_STR: decoded text; J_NUM: the literal; J_BOOL: "true"/"false" */
    char *key;  /* member name inside an object */
    struct jv *child, *next;
} jv;

static void jv_free(jv *v) {
    while (v) {
        jv *n = v->next;
        jv_free(v->child);
        free(v->str);
        free(v->key);
        free(v);
        v = n;
    }
}

typedef struct {
    const char *p, *end;
} jp;

static void ws(jp *j) {
    while (j->p < j->end && isspace((unsigned char)*j->p)) j->p++;
}
static void utf8(buf_t *b, unsigned cp) {
    char o[4];
    int n;
    if (cp < 0x80) o[0] = (char)cp, n = 1;
    else if (cp < 0x800) o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 63)), n = 2;
    else if (cp < 0x10000)
        o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | (cp >> 6 & 63)),
        o[2] = (char)(0x80 | (cp & 63)), n = 3;
    else
        o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | (cp >> 12 & 63)),
        o[2] = (char)(0x80 | (cp >> 6 & 63)), o[3] = (char)(0x80 | (cp & 63)), n = 4;
    buf_add(b, o, (size_t)n);
}
static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}
static char *parse_string(jp *j) {
    if (j->p >= j->end || *j->p != '"') return NULL;
    j->p++;
    buf_t b = {0};
    buf_add(&b, "", 0);
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c != '\\') {
            buf_add(&b, &c, 1);
            continue;
        }
        if (j->p >= j->end) break;
        c = *j->p++;
        switch (c) {
        case 'n': buf_add(&b, "\n", 1); break;
        case 't': buf_add(&b, "\t", 1); break;
        case 'r': buf_add(&b, "\r", 1); break;
        case 'b': buf_add(&b, "\b", 1); break;
        case 'f': buf_add(&b, "\f", 1); break;
        case 'u': {
            unsigned cp, lo;
            if (j->end - j->p < 4 || hex4(j->p, &cp)) goto bad;
            j->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' &&
                j->p[1] == 'u' && !hex4(j->p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                j->p += 6;
            }
            utf8(&b, cp);
            break;
        }
        default: buf_add(&b, &c, 1);
        }
    }
    if (j->p >= j->end) goto bad;
    j->p++;
    return b.p;
bad:
    buf_free(&b);
    return NULL;
}
static jv *parse_value(jp *j, int depth) {
    ws(j);
    if (j->p >= j->end || depth > 32) return NULL;
    jv *v = calloc(1, sizeof *v);
    if (!v) abort();
    char c = *j->p;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? J_OBJ : J_ARR;
        j->p++;
        jv **tail = &v->child;
        ws(j);
        if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
            j->p++;
            return v;
        }
        while (1) {
            char *key = NULL;
            ws(j);
            if (v->type == J_OBJ) {
                if (!(key = parse_string(j))) goto bad;
                ws(j);
                if (j->p >= j->end || *j->p++ != ':') {
                    free(key);
                    goto bad;
                }
            }
            jv *m = parse_value(j, depth + 1);
            if (!m) {
                free(key);
                goto bad;
            }
            m->key = key;
            *tail = m;
            tail = &m->next;
            ws(j);
            if (j->p >= j->end) goto bad;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != (v->type == J_OBJ ? '}' : ']')) goto bad;
            return v;
        }
    }
    if (c == '"') {
        v->type = J_STR;
        if (!(v->str = parse_string(j))) goto bad;
        return v;
    }
    const char *s = j->p;
    while (j->p < j->end && (isalnum((unsigned char)*j->p) || strchr("+-.", *j->p))) j->p++;
    if (j->p == s) goto bad;
    v->str = strndup(s, (size_t)(j->p - s));
    if (!strcmp(v->str, "null")) v->type = J_NULL;
    else if (!strcmp(v->str, "true") || !strcmp(v->str, "false")) v->type = J_BOOL;
    else v->type = J_NUM;
    return v;
bad:
    jv_free(v);
    return NULL;
}
static jv *get(const jv *o, const char *key) {
    if (!o || o->type != J_OBJ) return NULL;
    for (jv *m = o->child; m; m = m->next)
        if (m->key && !strcmp(m->key, key)) return m;
    return NULL;
}
static const char *get_str(const jv *o, const char *key) {
    jv *v = get(o, key);
    return v && v->type == J_STR ? v->str : NULL;
}
static int get_bool(const jv *o, const char *key, int dflt) {
    jv *v = get(o, key);
    return v && v->type == J_BOOL ? !strcmp(v->str, "true") : dflt;
}

/* ------------------------------------------------------------------ the port */
static int port = -1;

static void port_write(const char *d, size_t n) {
    while (n > 0 && port >= 0) {
        ssize_t w = write(port, d, n);
        if (w > 0) {
            d += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {port, POLLOUT, 0};
            if (poll(&p, 1, 2000) <= 0) return; /* host stopped reading: drop the reply */
        } else {
            return;
        }
    }
}
static void reply(buf_t *json_return) {
    buf_t out = {0};
    buf_str(&out, "{\"return\": ");
    buf_add(&out, json_return->p ? json_return->p : "{}", json_return->p ? json_return->len : 2);
    buf_str(&out, "}\n");
    port_write(out.p, out.len);
    buf_free(&out);
}
static void reply_error(const char *cls, const char *fmt, ...) {
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    buf_t out = {0};
    buf_str(&out, "{\"error\": {\"class\": ");
    buf_json_str(&out, cls);
    buf_str(&out, ", \"desc\": ");
    buf_json_str(&out, desc);
    buf_str(&out, "}}\n");
    port_write(out.p, out.len);
    buf_free(&out);
}

/* The port's device: /dev/virtio-ports/NAME, or the vportNpM whose sysfs name matches. */
static const char *port_path; /* argv[1]: another device, for testing on a pty */
static int open_port(void) {
    if (port_path) return open(port_path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    int fd = open("/dev/virtio-ports/" PORT_NAME, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) return fd;
    DIR *d = opendir("/sys/class/virtio-ports");
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[512], name[128] = "";
        snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f) continue;
        if (fgets(name, sizeof name, f)) name[strcspn(name, "\n")] = 0;
        fclose(f);
        if (strcmp(name, PORT_NAME)) continue;
        snprintf(path, sizeof path, "/dev/%s", e->d_name);
        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        break;
    }
    closedir(d);
    return fd;
}

/* ------------------------------------------------------------------ guest-exec */
typedef struct {
    pid_t pid;
    int out_fd, err_fd, in_fd;
    buf_t out, err, in;
    size_t in_off;
    int out_trunc, err_trunc;
    int exited, status;
    time_t exited_at;
} proc_t;
static proc_t procs[MAX_EXEC];

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void cmd_exec(const jv *args) {
    const char *path = get_str(args, "path");
    if (!path) return reply_error("GenericError", "Parameter 'path' is missing");
    int slot = -1;
    for (int i = 0; i < MAX_EXEC; i++)
        if (!procs[i].pid) {
            slot = i;
            break;
        }
    if (slot < 0) return reply_error("GenericError", "too many processes whose status was not read");
    int capture = get_bool(args, "capture-output", 0);
    buf_t input = {0};
    const char *in64 = get_str(args, "input-data");
    if (in64 && b64_decode(&input, in64)) return reply_error("GenericError", "input-data is not base64");

    char *argv[256];
    int argc = 0;
    argv[argc++] = (char *)path;
    for (jv *a = get(args, "arg") ? get(args, "arg")->child : NULL; a && argc < 255; a = a->next)
        if (a->type == J_STR) argv[argc++] = a->str;
    argv[argc] = NULL;
    char *envp[128];
    int envc = 0;
    jv *env = get(args, "env");
    if (env) {
        for (jv *a = env->child; a && envc < 127; a = a->next)
            if (a->type == J_STR) envp[envc++] = a->str;
    }
    envp[envc] = NULL;

    int po[2] = {-1, -1}, pe[2] = {-1, -1}, pi[2] = {-1, -1};
    if ((capture && (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))) || pipe2(pi, O_CLOEXEC)) {
        buf_free(&input);
        return reply_error("GenericError", "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        buf_free(&input);
        return reply_error("GenericError", "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setsid();
        int null = open("/dev/null", O_RDWR);
        dup2(pi[0], 0);
        dup2(capture ? po[1] : null, 1);
        dup2(capture ? pe[1] : null, 2);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        if (env) execvpe(path, argv, envp);
        else execvp(path, argv);
        _exit(127);
    }
    proc_t *p = &procs[slot];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->out_fd = po[0];
    p->err_fd = pe[0];
    close(pi[0]);
    if (capture) close(po[1]), close(pe[1]);
    p->in = input;
    p->in_fd = pi[1];
    if (p->in.len == 0) {
        close(p->in_fd);
        p->in_fd = -1;
    }
    for (int *fd = &p->out_fd; fd <= &p->in_fd; fd++)
        if (*fd >= 0) set_nonblock(*fd);
    buf_t r = {0};
    buf_printf(&r, "{\"pid\": %d}", (int)pid);
    reply(&r);
    buf_free(&r);
}

static void drain(int *fd, buf_t *b, int *trunc) {
    char chunk[16384];
    while (*fd >= 0) {
        ssize_t n = read(*fd, chunk, sizeof chunk);
        if (n > 0) {
            size_t keep = b->len >= MAX_CAPTURE ? 0 : MAX_CAPTURE - b->len;
            if ((size_t)n > keep) *trunc = 1;
            buf_add(b, chunk, (size_t)n < keep ? (size_t)n : keep);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        close(*fd);
        *fd = -1;
    }
}

static void feed_stdin(proc_t *p) {
    while (p->in_fd >= 0 && p->in_off < p->in.len) {
        ssize_t n = write(p->in_fd, p->in.p + p->in_off, p->in.len - p->in_off);
        if (n > 0) p->in_off += (size_t)n;
        else if (n < 0 && errno == EAGAIN) return;
        else if (n < 0 && errno == EINTR) continue;
        else break;
    }
    close(p->in_fd);
    p->in_fd = -1;
}

static void reap(void) {
    for (int i = 0; i < MAX_EXEC; i++) {
        proc_t *p = &procs[i];
        if (!p->pid || p->exited) continue;
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->exited = 1;
            p->status = st;
            p->exited_at = time(NULL);
        }
    }
}

static void cmd_exec_status(const jv *args) {
    jv *pv = get(args, "pid");
    long pid = pv && pv->type == J_NUM ? strtol(pv->str, NULL, 10) : -1;
    proc_t *p = NULL;
    for (int i = 0; i < MAX_EXEC; i++)
        if (procs[i].pid && procs[i].pid == pid) p = &procs[i];
    if (!p) return reply_error("GenericError", "Invalid parameter 'pid'");
    reap();
    drain(&p->out_fd, &p->out, &p->out_trunc);
    drain(&p->err_fd, &p->err, &p->err_trunc);
    /* Done once the process exited and its output was read to the end; a background child
     * that keeps the pipes open gets two seconds. */
    int done = p->exited && ((p->out_fd < 0 && p->err_fd < 0) || time(NULL) - p->exited_at >= 2);
    buf_t r = {0};
    buf_printf(&r, "{\"exited\": %s", done ? "true" : "false");
    if (done) {
        if (WIFEXITED(p->status)) buf_printf(&r, ", \"exitcode\": %d", WEXITSTATUS(p->status));
        else if (WIFSIGNALED(p->status)) buf_printf(&r, ", \"signal\": %d", WTERMSIG(p->status));
        if (p->out.len || p->out_trunc) {
            buf_str(&r, ", \"out-data\": \"");
            b64_encode(&r, (unsigned char *)p->out.p, p->out.len);
            buf_str(&r, "\"");
        }
        if (p->err.len || p->err_trunc) {
            buf_str(&r, ", \"err-data\": \"");
            b64_encode(&r, (unsigned char *)p->err.p, p->err.len);
            buf_str(&r, "\"");
        }
        if (p->out_trunc) buf_str(&r, ", \"out-truncated\": true");
        if (p->err_trunc) buf_str(&r, ", \"err-truncated\": true");
    }
    buf_str(&r, "}");
    reply(&r);
    buf_free(&r);
    if (done) {
        for (int *fd = &p->out_fd; fd <= &p->in_fd; fd++)
            if (*fd >= 0) close(*fd);
        buf_free(&p->out);
        buf_free(&p->err);
        buf_free(&p->in);
        memset(p, 0, sizeof *p);
    }
}

/* ------------------------------------------------------------------ passwords */
static void cmd_set_password(const jv *args) {
    const char *user = get_str(args, "username"), *pw64 = get_str(args, "password");
    if (!user || !pw64) return reply_error("GenericError", "Parameter 'username' or 'password' is missing");
    if (!*user || strpbrk(user, ":\n\r"))
        return reply_error("GenericError", "Parameter 'username' is not a valid user name");
    buf_t pw = {0};
    if (b64_decode(&pw, pw64) || !pw.p || strpbrk(pw.p, "\n\r") || strlen(pw.p) != pw.len) {
        buf_free(&pw);
        return reply_error("GenericError", "Parameter 'password' is not valid");
    }
    buf_t line = {0};
    buf_printf(&line, "%s:", user);
    buf_add(&line, pw.p, pw.len);
    buf_add(&line, "\n", 1);
    buf_free(&pw);
    int in[2];
    if (pipe2(in, O_CLOEXEC)) {
        buf_free(&line);
        return reply_error("GenericError", "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        /* busybox has no chpasswd applet: the image's own (nocloud) writes /etc/shadow */
        execl("/usr/lib/opencvm/nocloud", "nocloud", "chpasswd",
              get_bool(args, "crypted", 0) ? "-e" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    if (pid > 0 && write(in[1], line.p, line.len) != (ssize_t)line.len) { /* reported below */ }
    close(in[1]);
    memset(line.p, 0, line.len);
    buf_free(&line);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return reply_error("GenericError", "setting the password of user '%s' failed", user);
    buf_t r = {0};
    reply(&r);
}

/* ------------------------------------------------------------------ fsfreeze */
static int frozen;

/* Calls FIFREEZE or FITHAW on every mounted block-device file system, last mounted first.
 * Returns how many answered; on a freeze error, thaws what it froze and returns -1. */
static int freeze_all(int freeze, char *err, size_t errlen) {
    FILE *f = fopen("/proc/self/mounts", "re");
    if (!f) {
        snprintf(err, errlen, "/proc/self/mounts: %s", strerror(errno));
        return -1;
    }
    char *dirs[256];
    int n = 0, count = 0;
    char src[512], dir[512], type[64];
    while (n < 256 && fscanf(f, "%511s %511s %63s %*s %*d %*d", src, dir, type) == 3) {
        if (strncmp(src, "/dev/", 5) || !strcmp(type, "iso9660") || !strcmp(type, "squashfs"))
            continue;
        int dup = 0; /* one file system mounted twice is frozen once */
        for (int i = 0; i < n; i++) dup |= !strcmp(dirs[i], dir);
        if (!dup) dirs[n++] = strdup(dir);
    }
    fclose(f);
    for (int i = n - 1; i >= 0; i--) {
        int fd = open(dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) continue;
        int rc = ioctl(fd, freeze ? FIFREEZE : FITHAW, 0);
        int e = errno;
        close(fd);
        if (rc == 0) {
            count++;
        } else if (freeze && e != EOPNOTSUPP && e != ENOTTY) {
            snprintf(err, errlen, "freezing %s: %s", dirs[i], strerror(e));
            for (int k = n - 1; k > i; k--) {
                int t = open(dirs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (t >= 0) ioctl(t, FITHAW, 0), close(t);
            }
            count = -1;
            break;
        }
    }
    for (int i = 0; i < n; i++) free(dirs[i]);
    return count;
}

static void cmd_freeze(int freeze) {
    char err[600] = "";
    if (freeze && frozen) return reply_error("GenericError", "The file systems are already frozen");
    int n = freeze_all(freeze, err, sizeof err);
    if (n < 0) return reply_error("GenericError", "%s", err);
    frozen = freeze;
    buf_t r = {0};
    buf_printf(&r, "%d", n);
    reply(&r);
    buf_free(&r);
}

/* ------------------------------------------------------------------ dispatch */
static const char *const COMMANDS[] = {
    "guest-sync", "guest-sync-delimited", "guest-ping", "guest-info", "guest-exec",
    "guest-exec-status", "guest-set-user-password", "guest-fsfreeze-freeze",
    "guest-fsfreeze-thaw", "guest-fsfreeze-status",
};

static void handle(const jv *req) {
    const char *cmd = get_str(req, "execute");
    jv *args = get(req, "arguments");
    buf_t r = {0};
    if (!cmd) {
        reply_error("GenericError", "Expected 'execute' in a request");
    } else if (!strcmp(cmd, "guest-sync") || !strcmp(cmd, "guest-sync-delimited")) {
        jv *id = get(args, "id");
        if (!id || id->type != J_NUM) {
            reply_error("GenericError", "Parameter 'id' is missing");
        } else {
            if (cmd[10]) port_write("\xff", 1);
            buf_str(&r, id->str);
            reply(&r);
        }
    } else if (frozen && strcmp(cmd, "guest-ping") && strcmp(cmd, "guest-fsfreeze-thaw") &&
               strcmp(cmd, "guest-fsfreeze-status") && strcmp(cmd, "guest-info")) {
        /* Commands that may write to a frozen file system would hang the agent. */
        reply_error("GenericError", "Command %s has been disabled while the file systems are frozen", cmd);
    } else if (!strcmp(cmd, "guest-ping")) {
        reply(&r);
    } else if (!strcmp(cmd, "guest-info")) {
        buf_str(&r, "{\"version\": \"opencvm-ga 1\", \"supported_commands\": [");
        for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
            buf_printf(&r, "%s{\"name\": \"%s\", \"enabled\": true, \"success-response\": true}",
                       i ? ", " : "", COMMANDS[i]);
        buf_str(&r, "]}");
        reply(&r);
    } else if (!strcmp(cmd, "guest-exec")) {
        cmd_exec(args);
    } else if (!strcmp(cmd, "guest-exec-status")) {
        cmd_exec_status(args);
    } else if (!strcmp(cmd, "guest-set-user-password")) {
        cmd_set_password(args);
    } else if (!strcmp(cmd, "guest-fsfreeze-freeze")) {
        cmd_freeze(1);
    } else if (!strcmp(cmd, "guest-fsfreeze-thaw")) {
        cmd_freeze(0);
    } else if (!strcmp(cmd, "guest-fsfreeze-status")) {
        buf_str(&r, frozen ? "\"frozen\"" : "\"thawed\"");
        reply(&r);
    } else {
        reply_error("CommandNotFound", "The command %s has not been found", cmd);
    }
    buf_free(&r);
}

/* Splits the request stream into JSON objects (requests need not end with a newline). */
static void process(buf_t *in) {
    size_t start = 0;
    while (1) {
        while (start < in->len && isspace((unsigned char)in->p[start])) start++;
        if (start >= in->len) break;
        if (in->p[start] != '{') { /* garbage between requests */
            start++;
            continue;
        }
        int depth = 0, instr = 0, esc = 0;
        size_t i, end = 0;
        for (i = start; i < in->len; i++) {
            char c = in->p[i];
            if (instr) {
                if (esc) esc = 0;
                else if (c == '\\') esc = 1;
                else if (c == '"') instr = 0;
            } else if (c == '"') {
                instr = 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                end = i + 1;
                break;
            }
        }
        if (!end) break; /* incomplete */
        jp j = {in->p + start, in->p + end};
        jv *req = parse_value(&j, 0);
        if (req && req->type == J_OBJ) handle(req);
        else reply_error("GenericError", "JSON parse error");
        jv_free(req);
        start = end;
    }
    memmove(in->p, in->p + start, in->len - start);
    in->len -= start;
    if (in->len > MAX_REQUEST) in->len = 0;
}

int main(int argc, char **argv) {
    if (argc > 1) port_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    buf_t in = {0};
    buf_add(&in, "", 0);
    while (1) {
        if (port < 0 && (port = open_port()) < 0) {
            sleep(1); /* module or device node not there yet */
            continue;
        }
        /* POLLHUP without data: no host client on the socket. virtio-serial cannot wake us
         * when one connects, so look again shortly. */
        struct pollfd pf[1 + 2 * MAX_EXEC];
        int n = 0;
        pf[n++] = (struct pollfd){port, POLLIN, 0};
        for (int i = 0; i < MAX_EXEC; i++) {
            if (!procs[i].pid) continue;
            if (procs[i].out_fd >= 0) pf[n++] = (struct pollfd){procs[i].out_fd, POLLIN, 0};
            if (procs[i].err_fd >= 0) pf[n++] = (struct pollfd){procs[i].err_fd, POLLIN, 0};
        }
        int rc = poll(pf, (nfds_t)n, 1000);
        for (int i = 0; i < MAX_EXEC; i++) {
            if (!procs[i].pid) continue;
            drain(&procs[i].out_fd, &procs[i].out, &procs[i].out_trunc);
            drain(&procs[i].err_fd, &procs[i].err, &procs[i].err_trunc);
            feed_stdin(&procs[i]);
        }
        reap();
        if (rc <= 0) continue;
        if (pf[0].revents & POLLIN) {
            char chunk[4096];
            ssize_t r = read(port, chunk, sizeof chunk);
            if (r > 0) {
                for (ssize_t i = 0; i < r; i++) {
                    if ((unsigned char)chunk[i] == 0xff) in.len = 0; /* parser reset */
                    else buf_add(&in, chunk + i, 1);
                }
                process(&in);
                continue;
            }
        }
        if (pf[0].revents & (POLLHUP | POLLERR)) {
            in.len = 0; /* a new host client starts afresh */
            usleep(100 * 1000);
        }
    }
}
