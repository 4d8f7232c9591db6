/* input.c — input format detection (see input.h). */
#include "input.h"
#include "cli.h"
#include "../../lib/io/frame.h"
#include "../../lib/util/text.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char pipe_name[32];

typedef struct {
    int out;
    unsigned char head[8];
    size_t nhead;
} feeder;

static feeder feed;

static void *feed_thread(void *arg)
{
    feeder *f = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* a reader that stops early gives EPIPE, not a signal */
    char buf[1 << 16];
    int ok = f->nhead == 0 || write(f->out, f->head, f->nhead) == (ssize_t)f->nhead;
    while (ok) {
        ssize_t k = read(STDIN_FILENO, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        for (ssize_t w = 0; w < k && ok;) {
            ssize_t m = write(f->out, buf + w, (size_t)(k - w));
            if (m < 0 && errno == EINTR)
                continue;
            ok = m > 0;
            w += m > 0 ? m : 0;
        }
    }
    close(f->out);
    return NULL;
}

static int kind_of(const unsigned char *b, size_t n)
{
    if (n >= 4 && !memcmp(b, tal_frame_magic, 4))
        return CLI_IN_STREAM;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')
            continue;
        return b[i] == '{' || b[i] == '[' ? CLI_IN_JSON : CLI_IN_TEXT;
    }
    return CLI_IN_TEXT;
}

int cli_input_sniff(const char *path, const char **open_path)
{
    *open_path = path;
    if (strcmp(path, "-")) {
        struct stat st;
        if (stat(path, &st))
            return tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode))
            return CLI_IN_DIR;
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            return tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno));
        unsigned char b[4];
        ssize_t k = read(fd, b, sizeof b);
        close(fd);
        if (k < 0)
            return tal_err(TAL_EIO, "cannot read '%s': %s", path, strerror(errno));
        if (k == 4 && !memcmp(b, tal_frame_magic, 4))
            return CLI_IN_STREAM;
        /* text, perhaps gzip-compressed: look at its first characters */
        gzFile gz = gzopen(path, "rb");
        if (!gz)
            return tal_err(TAL_EIO, "cannot open '%s': %s", path, strerror(errno ? errno : ENOMEM));
        unsigned char t[256];
        int got = gzread(gz, t, sizeof t), kind = CLI_IN_TEXT;
        gzclose(gz);
        if (got < 0)
            return tal_err(TAL_ECORRUPT, "cannot read '%s': bad gzip data", path);
        size_t i = 0;
        while (i < (size_t)got && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
            i++;
        if (i == (size_t)got && got < (int)sizeof t)
            return tal_err(TAL_EINVAL, "empty input: '%s'", path);
        if (i < (size_t)got)
            kind = kind_of(t + i, (size_t)got - i);
        return kind;
    }
    /* standard input: read the first bytes, then hand the rest on */
    size_t n = 0;
    while (n < 4) {
        ssize_t k = read(STDIN_FILENO, feed.head + n, 4 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return tal_err(TAL_EIO, "cannot read standard input: %s", strerror(errno));
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n == 0)
        return tal_err(TAL_EINVAL, "empty input: standard input");
    feed.nhead = n;
    int kind = kind_of(feed.head, n);
    if (kind == CLI_IN_TEXT && n >= 2 && feed.head[0] == 0x1f && feed.head[1] == 0x8b)
        kind = CLI_IN_JSON;   /* compressed: JSON is the likelier; --format says otherwise */
    int fds[2];
    if (pipe(fds))
        return tal_err(TAL_EIO, "cannot make a pipe: %s", strerror(errno));
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    feed.out = fds[1];
    pthread_t th;
    if (pthread_create(&th, NULL, feed_thread, &feed)) {
        close(fds[0]);
        close(fds[1]);
        return tal_err(TAL_EIO, "cannot start a thread to read standard input");
    }
    pthread_detach(th);
    snprintf(pipe_name, sizeof pipe_name, "/dev/fd/%d", fds[0]);
    *open_path = pipe_name;
    return kind;
}

int cli_fail_input(void)
{
    const char *m = tal_errmsg();
    const char *p = *pipe_name ? strstr(m, pipe_name) : NULL;
    if (!p)
        return cli_fail();
    /* the message names the pipe: say "standard input" instead */
    char buf[2048];
    size_t pre = (size_t)(p - m);
    const char *post = p + strlen(pipe_name);
    /* "'/dev/fd/5'" reads better without its quotes */
    if (pre > 0 && m[pre - 1] == '\'' && *post == '\'') {
        pre--;
        post++;
    }
    snprintf(buf, sizeof buf, "%.*sstandard input%s", (int)pre, m, post);
    return cli_error("%s", buf);
}
