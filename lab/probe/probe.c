/* probe: a tiny static TCP helper for traffic tests where no registry exists.
 *   probe serve PORT...    answer every connection on each PORT with "<hostname>\n"
 *   probe get HOST PORT    connect (5 s timeout), print the reply, exit 0;
 *                          exit 1 with a message on failure
 *   probe sleep            block forever
 * Built with gcc -static -Os; shipped as a one-file rootfs (see build.sh).
 * As PID 1 it exits on SIGTERM/SIGINT so `docker stop` is instant. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000

static void on_signal(int sig) { (void)sig; _exit(0); }

static int usage(void) {
    fputs("usage: probe serve PORT... | probe get HOST PORT | probe sleep\n", stderr);
    return 2;
}

static int serve(const char *port) {
    char msg[300];
    int one = 1, fd, family = AF_INET6;
    if (gethostname(msg, sizeof msg - 2) != 0) strcpy(msg, "unknown");
    msg[sizeof msg - 2] = '\0';
    strcat(msg, "\n");
    size_t len = strlen(msg);

    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any,
                              .sin6_port = htons((unsigned short)atoi(port))};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY),
                             .sin_port = a6.sin6_port};
    if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) < 0) { /* no IPv6 in this netns */
        family = AF_INET;
        fd = socket(AF_INET, SOCK_STREAM, 0);
    }
    int zero = 0;
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 ||
        (family == AF_INET6 ? bind(fd, (struct sockaddr *)&a6, sizeof a6)
                            : bind(fd, (struct sockaddr *)&a4, sizeof a4)) != 0 ||
        listen(fd, 128) != 0) {
        fprintf(stderr, "probe: serve %s: %s\n", port, strerror(errno));
        return 1;
    }
    printf("probe: serving %.*s on port %s\n", (int)len - 1, msg, port);
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) continue;
        if (write(c, msg, len) < 0) { /* client gone: nothing to do */ }
        close(c);
    }
}

static int get(const char *host, const char *port) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    int rc = getaddrinfo(host, port, &hints, &res), fd = -1, err = 0;
    if (rc != 0) {
        fprintf(stderr, "probe: get %s:%s: %s\n", host, port, gai_strerror(rc));
        return 1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) { err = errno; continue; }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            socklen_t l = sizeof err;
            rc = poll(&p, 1, TIMEOUT_MS);
            if (rc == 0) err = ETIMEDOUT;
            else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0) err = errno;
            if (rc > 0 && err == 0) break;
        } else {
            err = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "probe: get %s:%s: %s\n", host, port, strerror(err));
        return 1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    if (n < 0) {
        fprintf(stderr, "probe: get %s:%s: read: %s\n", host, port,
                errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
        return 1;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (argc >= 3 && strcmp(argv[1], "serve") == 0) {
        /* One process per further port; they end with the container. */
        for (int i = 3; i < argc; i++)
            if (fork() == 0) return serve(argv[i]);
        return serve(argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "get") == 0) return get(argv[2], argv[3]);
    if (argc == 2 && strcmp(argv[1], "sleep") == 0) {
        for (;;) pause();
    }
    return usage();
}
