/* probe: a tiny static TCP helper for traffic tests where no registry exists.
 *   probe serve PORT...    answer every connection on each PORT with "<hostname>\n",
 *                          and echo every UDP datagram sent to each PORT
 *   probe mtu HOST PORT SIZE
 *                          send one UDP datagram that makes an IPv4 packet of SIZE
 *                          bytes with don't-fragment set to HOST:PORT (a serving
 *                          probe) and wait for its full-size echo; exit 0 when it
 *                          came back, 1 with the reason otherwise (3 tries, 2 s each)
 *   probe get HOST PORT    connect (5 s timeout), print the reply, exit 0;
 *                          exit 1 with a message on failure
 *   probe sleep            block forever
 * Built with gcc -static -Os; shipped as a one-file rootfs (see build.sh).
 * As PID 1 it exits on SIGTERM/SIGINT so `docker stop` is instant. */
#include <arpa/inet.h>
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
    fputs("usage: probe serve PORT... | probe get HOST PORT | probe mtu HOST PORT SIZE | probe sleep\n", stderr);
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

/* Echo every datagram on PORT back to its sender (IPv4; the MTU probe's far side). */
static int echo_udp(const char *port) {
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY),
                             .sin_port = htons((unsigned short)atoi(port))};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a4, sizeof a4) != 0) {
        fprintf(stderr, "probe: echo %s/udp: %s\n", port, strerror(errno));
        return 1;
    }
    static char buf[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) continue;
        if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) < 0) { /* sender gone */ }
    }
}

/* One IPv4 packet of SIZE bytes (20 IP + 8 UDP + payload) with DF set, echoed back whole. */
static int mtu(const char *host, const char *port, const char *size) {
    int total = atoi(size), payload = total - 28, fd, pmtu = IP_PMTUDISC_DO;
    if (payload < 1 || payload > 65000) {
        fprintf(stderr, "probe: mtu: SIZE must be 29-65028, got %s\n", size);
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
        fprintf(stderr, "probe: mtu: %s is not an IPv4 address\n", host);
        return 2;
    }
    if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu) != 0) {
        fprintf(stderr, "probe: mtu: %s\n", strerror(errno));
        return 1;
    }
    static char out[65536], in[65536];
    memset(out, 'm', (size_t)payload);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        fprintf(stderr, "probe: mtu %s:%s: %s\n", host, port, strerror(errno));
        return 1;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        if (send(fd, out, (size_t)payload, 0) < 0) {
            /* The first send failing means this host's own interface is smaller;
               a later one, that the way reported a smaller path MTU (fragmentation needed). */
            if (attempt == 0 || errno != EMSGSIZE) {
                fprintf(stderr, "probe: mtu %s:%s %d bytes: %s\n", host, port, total, strerror(errno));
                return 1;
            }
            break;
        }
        ssize_t n = recv(fd, in, sizeof in, 0);
        if (n == payload) {
            printf("probe: %d-byte packets with don't-fragment reach %s and come back\n", total, host);
            return 0;
        }
    }
    int path = 0;
    socklen_t pl = sizeof path;
    if (getsockopt(fd, IPPROTO_IP, IP_MTU, &path, &pl) != 0) path = 0;
    fprintf(stderr, "probe: mtu %s:%s %d bytes: no full-size answer (lost on the way; path MTU now %d)\n", host, port, total,
            path);
    return 1;
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
        for (int i = 2; i < argc; i++)
            if (fork() == 0) return echo_udp(argv[i]);
        for (int i = 3; i < argc; i++)
            if (fork() == 0) return serve(argv[i]);
        return serve(argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "get") == 0) return get(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "mtu") == 0) return mtu(argv[2], argv[3], argv[4]);
    if (argc == 2 && strcmp(argv[1], "sleep") == 0) {
        for (;;) pause();
    }
    return usage();
}
