// dpuring: the few io_uring calls the dataplane's `io: uring` worker makes, batch-oriented so that C# crosses
// into native code a few times per loop, not once per frame. liburing does the ring bookkeeping; this file
// adapts it to flat, blittable arrays.
//
// Receiving: the worker hands over a pool of frame buffers once (dpuring_provide_buffers, a provided-buffer ring)
// and arms one multishot read per fd (dpuring_post_reads, IORING_OP_READ_MULTISHOT, Linux 6.7). Every frame
// that arrives on any fd then completes on its own, in a buffer the kernel picked from the pool, with no
// submission per frame; the worker returns a buffer (dpuring_recycle_buffers) once the frame has been written
// out. One poll entry per fd: posting many single reads on one fd would wake them all for every frame.
// Sending: dpuring_post_writes queues a write per output frame. dpuring_submit_and_reap submits everything
// and collects completions in one system call, optionally waiting (it replaces epoll_wait).
//
// Every function returns a count or a negative errno; nothing here prints, aborts or allocates per call.
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// liburing 2.3 (Debian 12) predates it; the opcode is fixed kernel ABI (include/uapi/linux/io_uring.h, 6.7).
#ifndef IORING_OP_READ_MULTISHOT
#define IORING_OP_READ_MULTISHOT 49
#endif

// The provided-buffer group the pool is registered as (one pool per ring).
#define POOL_GROUP 0

#define DPURING_EXPORT __attribute__((visibility("default")))

// One write: a frame buffer to an fd. 24 bytes, the same layout as Interop.Dpuring.dpuring_io.
struct dpuring_io {
    int32_t fd;
    uint32_t length;
    uint64_t buffer;
    uint64_t user_data;
};

// One completion: the operation's user data, its result (bytes or -errno) and the CQE flags verbatim
// (bit 0 IORING_CQE_F_BUFFER: the upper 16 bits are the pool buffer id; bit 1 IORING_CQE_F_MORE: a multishot
// read stays armed). 16 bytes, the same layout as Interop.Dpuring.dpuring_completion.
struct dpuring_completion {
    uint64_t user_data;
    int32_t result;
    uint32_t flags;
};

struct dpuring {
    struct io_uring ring;
    struct io_uring_buf_ring *pool;
    uint32_t pool_entries;
    uint64_t pool_base;
    uint32_t pool_stride;
    uint32_t pool_length;
};

// Setup flags, best first. SINGLE_ISSUER + DEFER_TASKRUN (6.1) run completion work only when the worker asks
// for events, on its own thread, instead of interrupting it; SUBMIT_ALL (5.18) keeps submitting after one bad
// entry; COOP_TASKRUN (5.19) avoids an IPI per completion. Older kernels get what they support.
static const unsigned s_setup_flags[] = {
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
    0,
};

// Creates a ring of `entries` submission slots (rounded up to a power of two by the kernel) and four times as
// many completion slots, so the frames and writes in flight never overflow the completion queue. The calling
// thread becomes the ring's only submitter. Returns 0 and the ring in *out, or -errno (-ENOSYS: no io_uring,
// -EPERM: disabled by kernel.io_uring_disabled).
DPURING_EXPORT int dpuring_create(uint32_t entries, struct dpuring **out)
{
    *out = NULL;
    struct dpuring *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -ENOMEM;

    int ret = -EINVAL;
    for (size_t i = 0; i < sizeof s_setup_flags / sizeof s_setup_flags[0]; i++) {
        struct io_uring_params params;
        memset(&params, 0, sizeof params);
        params.flags = s_setup_flags[i] | IORING_SETUP_CQSIZE;
        params.cq_entries = entries * 4;
        ret = io_uring_queue_init_params(entries, &d->ring, &params);
        if (ret != -EINVAL)
            break;
    }

    if (ret < 0) {
        free(d);
        return ret;
    }

    *out = d;
    return 0;
}

// Closes the ring. Reads still posted are cancelled by the kernel; their buffers must stay valid until this returns.
DPURING_EXPORT void dpuring_destroy(struct dpuring *d)
{
    if (d == NULL)
        return;
    io_uring_queue_exit(&d->ring);
    free(d->pool);
    free(d);
}

// Registers the receive pool: `count` buffers (at most 32768) of `length` bytes, buffer i at base + i * stride,
// all free. Call once, before dpuring_post_reads. The memory must stay valid until dpuring_destroy.
DPURING_EXPORT int dpuring_provide_buffers(struct dpuring *d, uint64_t base, uint32_t stride, uint32_t length, uint32_t count)
{
    if (d->pool != NULL || count == 0 || count > 32768)
        return -EINVAL;

    uint32_t entries = 1;
    while (entries < count)
        entries <<= 1;

    void *memory;
    size_t size = entries * sizeof(struct io_uring_buf);
    if (posix_memalign(&memory, (size_t)sysconf(_SC_PAGESIZE), size) != 0)
        return -ENOMEM;
    memset(memory, 0, size);

    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)memory;
    reg.ring_entries = entries;
    reg.bgid = POOL_GROUP;
    int ret = io_uring_register_buf_ring(&d->ring, &reg, 0);
    if (ret < 0) {
        free(memory);
        return ret;
    }

    d->pool = memory;
    d->pool_entries = entries;
    d->pool_base = base;
    d->pool_stride = stride;
    d->pool_length = length;
    io_uring_buf_ring_init(d->pool);
    int mask = io_uring_buf_ring_mask(entries);
    for (uint32_t i = 0; i < count; i++)
        io_uring_buf_ring_add(d->pool, (void *)(uintptr_t)(base + (uint64_t)i * stride), length, (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(d->pool, (int)count);
    return 0;
}

// Gives buffers back to the pool (ids from completions' flags >> 16); the kernel may fill them at once.
DPURING_EXPORT int dpuring_recycle_buffers(struct dpuring *d, const uint16_t *ids, int32_t count)
{
    if (d->pool == NULL)
        return -EINVAL;

    int mask = io_uring_buf_ring_mask(d->pool_entries);
    for (int32_t i = 0; i < count; i++)
        io_uring_buf_ring_add(d->pool, (void *)(uintptr_t)(d->pool_base + (uint64_t)ids[i] * d->pool_stride),
                              d->pool_length, ids[i], mask, (int)i);
    io_uring_buf_ring_advance(d->pool, (int)count);
    return count;
}

// A free submission entry; when the queue is full, submits what is queued (without waiting) to make room.
static struct io_uring_sqe *next_sqe(struct dpuring *d)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    if (sqe == NULL && io_uring_submit(&d->ring) >= 0)
        sqe = io_uring_get_sqe(&d->ring);
    return sqe;
}

// Arms a multishot read on each of `count` fds, into buffers of the pool. Each frame completes with
// IORING_CQE_F_BUFFER and its id; a completion without IORING_CQE_F_MORE ends it (-ENOBUFS when the pool ran
// dry, or an error) and the caller arms it again. Returns how many were queued (fewer only if the kernel
// refused a submission) or -errno; they reach the kernel with the next dpuring_submit_and_reap.
DPURING_EXPORT int dpuring_post_reads(struct dpuring *d, const int32_t *fds, const uint64_t *user_data, int32_t count)
{
    if (d->pool == NULL)
        return -EINVAL;

    int32_t i;
    for (i = 0; i < count; i++) {
        struct io_uring_sqe *sqe = next_sqe(d);
        if (sqe == NULL)
            break;
        io_uring_prep_rw(IORING_OP_READ_MULTISHOT, sqe, fds[i], NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = POOL_GROUP;
        io_uring_sqe_set_data64(sqe, user_data[i]);
    }
    return i;
}

// Cancels every request on `fd` (its armed multishot read: a pod went away), so the ring drops its reference to
// the file and closing the fd really closes the TAP. The cancelled read completes with -ECANCELED and the cancel
// itself with `user_data`. Returns 0 when queued or -errno; it reaches the kernel with the next submit.
DPURING_EXPORT int dpuring_cancel_fd(struct dpuring *d, int32_t fd, uint64_t user_data)
{
    struct io_uring_sqe *sqe = next_sqe(d);
    if (sqe == NULL)
        return -EBUSY;
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

// Queues `count` writes, in order; returns how many were queued or -errno. Writes to one fd from one call
// run in queue order unless one has to wait (a full socket buffer), when io_uring retries it later.
DPURING_EXPORT int dpuring_post_writes(struct dpuring *d, const struct dpuring_io *ios, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; i++) {
        struct io_uring_sqe *sqe = next_sqe(d);
        if (sqe == NULL)
            break;
        // Offset -1: the fd's current position, the only meaning a TAP or socket has.
        io_uring_prep_write(sqe, ios[i].fd, (void *)(uintptr_t)ios[i].buffer, ios[i].length, (uint64_t)-1);
        io_uring_sqe_set_data64(sqe, ios[i].user_data);
    }
    return i;
}

// Submits everything queued and reaps up to `max` completions into out[]. wait_nanoseconds > 0: if nothing has completed yet, waits up to that long for one;
// 0: does not wait. Returns the number reaped (0 on timeout or signal) or -errno.
DPURING_EXPORT int dpuring_submit_and_reap(struct dpuring *d, int64_t wait_nanoseconds,
                                           struct dpuring_completion *out, int32_t max)
{
    int ret;
    if (wait_nanoseconds > 0 && io_uring_cq_ready(&d->ring) == 0) {
        struct __kernel_timespec timeout = {
            .tv_sec = wait_nanoseconds / 1000000000,
            .tv_nsec = wait_nanoseconds % 1000000000,
        };
        struct io_uring_cqe *cqe;
        ret = io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &timeout, NULL);
    } else {
        // Enters the kernel even with nothing to submit: with DEFER_TASKRUN that is when completions are made.
        ret = io_uring_submit_and_get_events(&d->ring);
    }

    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
        return ret;

    int32_t n = 0;
    unsigned head;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&d->ring, head, cqe) {
        if (n == max)
            break;
        out[n].user_data = cqe->user_data;
        out[n].result = cqe->res;
        out[n].flags = cqe->flags;
        n++;
    }
    io_uring_cq_advance(&d->ring, (unsigned)n);
    return n;
}
