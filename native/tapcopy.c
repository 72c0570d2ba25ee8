// tapcopy: the I/O ceiling of any TAP-based dataplane. Creates two TAPs in the calling namespace and copies
// every frame from one to the other, both ways, with no processing: one read() and one write() per frame,
// which is all a TAP fd offers a userspace forwarder (it has no recvmmsg/sendmmsg; only vhost batches, in
// the kernel). The side-by-side benchmark moves the two devices into pod namespaces as eth0 (the fds stay
// valid across the move) and measures pod-to-pod traffic through this copy.
//
//   tapcopy [--vnet-hdr] NAME_A NAME_B
//
// --vnet-hdr: IFF_VNET_HDR with a 10-byte virtio-net header and TUNSETOFFLOAD CSUM|TSO4|TSO6|TSO_ECN, so
// the pods' stacks hand over 64 KiB TCP segments with partial checksums; the header is copied with the frame,
// exactly what a forwarder that keeps offloads end to end does.
//
// Prints "ready" once both devices exist, runs until SIGTERM or SIGINT, then prints its counters and exits 0
// (closing the fds removes the devices from whatever namespace they are in).
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

// A TSO frame is up to 64 KiB of IP plus the Ethernet and virtio-net headers.
#define FRAME_MAX (65536 + 256)
// Frames moved from one side before looking at the other, so a flood one way cannot starve the replies.
#define BURST 64

static volatile sig_atomic_t s_stop;

static void on_signal(int sig) { (void)sig; s_stop = 1; }

static int tap_open(const char *name, int vnet_hdr)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        perror("open /dev/net/tun");
        exit(1);
    }

    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL | (vnet_hdr ? IFF_VNET_HDR : 0);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        fprintf(stderr, "TUNSETIFF %s: %s\n", name, strerror(errno));
        exit(1);
    }

    if (vnet_hdr) {
        int size = 10; // struct virtio_net_hdr, without num_buffers
        if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) {
            fprintf(stderr, "TUNSETVNETHDRSZ %s: %s\n", name, strerror(errno));
            exit(1);
        }
        if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) < 0) {
            fprintf(stderr, "TUNSETOFFLOAD %s: %s\n", name, strerror(errno));
            exit(1);
        }
    }
    return fd;
}

struct direction {
    int from, to;
    unsigned long long frames, bytes, drops;
};

// Moves up to BURST frames; returns 1 if the source may have more.
static int copy_burst(struct direction *d, unsigned char *buffer)
{
    for (int i = 0; i < BURST; i++) {
        ssize_t n = read(d->from, buffer, FRAME_MAX);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                perror("read");
                s_stop = 1;
            }
            return 0;
        }
        // EIO while the other side is down, EAGAIN/ENOBUFS under pressure: a dropped frame, like a full NIC ring.
        if (write(d->to, buffer, (size_t)n) == n) {
            d->frames++;
            d->bytes += (unsigned long long)n;
        } else {
            d->drops++;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    int vnet_hdr = argc > 1 && strcmp(argv[1], "--vnet-hdr") == 0;
    if (argc != 3 + vnet_hdr) {
        fprintf(stderr, "usage: tapcopy [--vnet-hdr] NAME_A NAME_B\n");
        return 2;
    }

    // No SA_RESTART: a signal must wake poll().
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int a = tap_open(argv[1 + vnet_hdr], vnet_hdr);
    int b = tap_open(argv[2 + vnet_hdr], vnet_hdr);
    printf("ready\n");
    fflush(stdout);

    static unsigned char buffer[FRAME_MAX];
    struct direction dirs[2] = { { .from = a, .to = b }, { .from = b, .to = a } };
    struct pollfd fds[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
    while (!s_stop) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        // Drain the ready sides in turns of BURST until both are empty, then poll again.
        int ready[2] = { fds[0].revents & POLLIN, fds[1].revents & POLLIN };
        while ((ready[0] || ready[1]) && !s_stop) {
            for (int i = 0; i < 2; i++)
                if (ready[i])
                    ready[i] = copy_burst(&dirs[i], buffer);
        }
    }

    for (int i = 0; i < 2; i++)
        printf("%s -> %s: %llu frames, %llu bytes, %llu dropped\n", argv[1 + vnet_hdr + i], argv[2 + vnet_hdr - i],
               dirs[i].frames, dirs[i].bytes, dirs[i].drops);
    close(a);
    close(b);
    return 0;
}
