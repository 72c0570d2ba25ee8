// connrate: new TCP connections per second. The server accepts and closes; each client thread connects,
// waits for the server's FIN, closes, and starts over until the time is up. Every connection is a full
// handshake and a full close (the server side keeps the TIME_WAIT, so client ports do not run out).
//
//   connrate server PORT
//   connrate client IP PORT SECONDS [THREADS]    prints "connections N failures F seconds S per_second R"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in s_target;
static double s_deadline;
static atomic_ulong s_connections, s_failures;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int serve(int port)
{
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4096) < 0) {
        perror("connrate server");
        return 1;
    }
    for (;;) {
        int c = accept(listener, NULL, NULL);
        if (c >= 0)
            close(c);
        else if (errno != EINTR && errno != ECONNABORTED)
            perror("accept");
    }
}

// One connection: connect, read until the server's close, close. Timeouts of 1 s make a lost SYN a failure
// instead of a 1 s + 2 s + 4 s ... retransmission wait.
static int once(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct timeval timeout = { .tv_sec = 1 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&s_target, sizeof s_target) == 0) {
        char byte;
        ok = read(fd, &byte, 1) == 0;
    }
    close(fd);
    return ok;
}

static void *client_thread(void *arg)
{
    (void)arg;
    while (now() < s_deadline) {
        if (once())
            atomic_fetch_add(&s_connections, 1);
        else
            atomic_fetch_add(&s_failures, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && strcmp(argv[1], "server") == 0)
        return serve(atoi(argv[2]));

    if ((argc != 5 && argc != 6) || strcmp(argv[1], "client") != 0) {
        fprintf(stderr, "usage: connrate server PORT | connrate client IP PORT SECONDS [THREADS]\n");
        return 2;
    }

    s_target.sin_family = AF_INET;
    s_target.sin_port = htons((unsigned short)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &s_target.sin_addr) != 1) {
        fprintf(stderr, "connrate: bad IPv4 address '%s'\n", argv[2]);
        return 2;
    }
    double seconds = atof(argv[4]);
    int threads = argc == 6 ? atoi(argv[5]) : 1;
    if (threads < 1 || threads > 256)
        threads = 1;

    double start = now();
    s_deadline = start + seconds;
    pthread_t ids[256];
    for (int i = 0; i < threads; i++)
        pthread_create(&ids[i], NULL, client_thread, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    double elapsed = now() - start;

    unsigned long n = atomic_load(&s_connections);
    printf("connections %lu failures %lu seconds %.3f per_second %.0f\n", n, atomic_load(&s_failures), elapsed, (double)n / elapsed);
    return 0;
}
