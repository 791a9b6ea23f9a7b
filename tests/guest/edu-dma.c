// SPDX-License-Identifier: GPL-2.0-or-later
//
// edu-dma: runs inside the test guest (built on the host with
// `gcc -static` by scripts/guest-assets.sh). Drives the edu device's DMA
// engine from user space with an unmodified kernel:
//
//   - BAR 0 is mapped through /dev/mem (STRICT_DEVMEM allows a BAR that no
//     driver has claimed; uio_pci_generic claims none);
//   - the DMA buffers are locked anonymous pages whose physical addresses
//     come from /proc/self/pagemap (/dev/mem refuses RAM);
//   - bus mastering is turned on by writing the command register through
//     the device's sysfs `config` file;
//   - a transfer RAM -> device, then device -> RAM, each awaited by polling
//     DMA_CMD's start bit; the second raises the completion interrupt, which
//     is awaited on /dev/uioN when one is given (uio_pci_generic bound),
//     and unmasked again through the command register, as uio_pci_generic
//     expects of user space.
//
// Usage: edu-dma SYSFS_DEVICE_DIR [/dev/uioN]
// Prints key=value lines; exits non-zero on any failure, saying why.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EDU_ID 0x00
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98

#define DMA_RUN 0x1
#define DMA_TO_RAM 0x2
#define DMA_IRQ 0x4
#define DMA_DONE_IRQ 0x100
#define DMA_BUF_ADDR 0x40000 // the device's buffer, in its DMA space
#define DMA_MASK 0x0fffffffULL // edu's default dma_mask property

#define BAR_SIZE 0x100000
#define XFER 4096

static volatile uint8_t *bar;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("edu-dma: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    if (errno)
        printf(" (%s)", strerror(errno));
    putchar('\n');
    fflush(stdout);
    exit(1);
}

static uint32_t rd32(unsigned off) { return *(volatile uint32_t *)(bar + off); }
static void wr32(unsigned off, uint32_t v) { *(volatile uint32_t *)(bar + off) = v; }
static uint64_t rd64(unsigned off) { return *(volatile uint64_t *)(bar + off); }
static void wr64(unsigned off, uint64_t v) { *(volatile uint64_t *)(bar + off) = v; }

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t read_hex_field(const char *path, int field)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s", path);
    unsigned long long v[3];
    if (fscanf(f, "%llx %llx %llx", &v[0], &v[1], &v[2]) != 3)
        die("cannot parse %s", path);
    fclose(f);
    return v[field];
}

static uint64_t virt_to_phys(void *p)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0)
        die("cannot open /proc/self/pagemap");
    long page = sysconf(_SC_PAGESIZE);
    uint64_t entry;
    off_t at = (off_t)((uintptr_t)p / page) * 8;
    if (pread(fd, &entry, 8, at) != 8)
        die("cannot read /proc/self/pagemap");
    close(fd);
    if (!(entry & (1ULL << 63)))
        die("page at %p is not present", p);
    uint64_t pfn = entry & ((1ULL << 55) - 1);
    if (!pfn)
        die("pagemap hides the frame number (not root?)");
    return pfn * page + (uintptr_t)p % page;
}

static int config_fd = -1;

static uint16_t read_command(void)
{
    uint16_t cmd;
    if (pread(config_fd, &cmd, 2, 4) != 2)
        die("cannot read the command register");
    return cmd;
}

static void write_command(uint16_t cmd)
{
    if (pwrite(config_fd, &cmd, 2, 4) != 2)
        die("cannot write the command register");
}

static void set_bus_master(void)
{
    write_command(read_command() | 0x6); // memory space, bus master
    uint16_t cmd = read_command();
    printf("command=0x%04x\n", cmd);
    if ((cmd & 0x6) != 0x6)
        die("bus mastering did not stick");
}

// Starts a transfer and waits for DMA_CMD's start bit to clear; returns the
// time it took.
static double dma(uint64_t src, uint64_t dst, uint64_t cmd)
{
    wr64(EDU_DMA_SRC, src);
    wr64(EDU_DMA_DST, dst);
    wr64(EDU_DMA_CNT, XFER);
    double t0 = now_ms();
    wr64(EDU_DMA_CMD, cmd | DMA_RUN);
    struct timespec ms = {0, 1000000};
    while (rd64(EDU_DMA_CMD) & DMA_RUN) {
        if (now_ms() - t0 > 10000)
            die("DMA 0x%" PRIx64 " -> 0x%" PRIx64 " still running after 10 s", src, dst);
        nanosleep(&ms, NULL);
    }
    return now_ms() - t0;
}

// uio_pci_generic has no irqcontrol: its handler masks INTx (the command
// register's Interrupt Disable bit) and user space unmasks it through the
// config space.
static void uio_enable(void)
{
    write_command(read_command() & ~0x400);
}

// Waits for the next interrupt on uio; returns the total count.
static uint32_t uio_wait(int uio, const char *what)
{
    struct pollfd p = {.fd = uio, .events = POLLIN};
    int n = poll(&p, 1, 10000);
    if (n < 0)
        die("poll on uio");
    if (n == 0) {
        errno = 0;
        die("no interrupt on uio within 10 s after %s (IRQ_STATUS 0x%x)", what,
            rd32(EDU_IRQ_STATUS));
    }
    uint32_t count;
    if (read(uio, &count, 4) != 4)
        die("read on uio");
    return count;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s SYSFS_DEVICE_DIR [/dev/uioN]\n", argv[0]);
        return 2;
    }
    const char *dev = argv[1];
    char path[512];
    snprintf(path, sizeof path, "%s/resource", dev);
    uint64_t bar0 = read_hex_field(path, 0);
    printf("bar0=0x%" PRIx64 "\n", bar0);

    int uio = -1;
    if (argc == 3) {
        uio = open(argv[2], O_RDWR);
        if (uio < 0)
            die("cannot open %s", argv[2]);
    }

    snprintf(path, sizeof path, "%s/config", dev);
    config_fd = open(path, O_RDWR);
    if (config_fd < 0)
        die("cannot open %s", path);
    set_bus_master();

    int mem = open("/dev/mem", O_RDWR | O_SYNC);
    if (mem < 0)
        die("cannot open /dev/mem");
    void *map = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mem, (off_t)bar0);
    if (map == MAP_FAILED)
        die("cannot map BAR 0 at 0x%" PRIx64 " through /dev/mem", bar0);
    bar = map;
    printf("id=0x%08x\n", rd32(EDU_ID));

    // Two locked pages: the source and the destination.
    uint8_t *src = mmap(NULL, 2 * XFER, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (src == MAP_FAILED)
        die("cannot allocate the buffers");
    if (mlock(src, 2 * XFER))
        die("cannot lock the buffers");
    uint8_t *dst = src + XFER;
    for (int i = 0; i < XFER; i++) {
        src[i] = (uint8_t)(i * 7 + 3);
        dst[i] = 0;
    }
    uint64_t psrc = virt_to_phys(src), pdst = virt_to_phys(dst);
    printf("phys_src=0x%" PRIx64 "\nphys_dst=0x%" PRIx64 "\n", psrc, pdst);
    if ((psrc | pdst) & ~DMA_MASK) {
        errno = 0;
        die("buffers above edu's 28-bit DMA mask: give the guest less memory");
    }

    printf("dma_to_device_ms=%.1f\n", dma(psrc, DMA_BUF_ADDR, 0));
    if (uio >= 0) {
        uio_enable();
        // Acknowledge anything left over, so the count below is ours.
        wr32(EDU_IRQ_ACK, rd32(EDU_IRQ_STATUS));
    }
    printf("dma_to_ram_ms=%.1f\n",
           dma(DMA_BUF_ADDR, pdst, DMA_TO_RAM | (uio >= 0 ? DMA_IRQ : 0)));
    int same = memcmp(src, dst, XFER) == 0;
    printf("dma_match=%d\n", same);
    if (!same) {
        int i = 0;
        while (src[i] == dst[i])
            i++;
        printf("first_difference=%d (wrote 0x%02x, read back 0x%02x)\n", i, src[i], dst[i]);
    }

    if (uio >= 0) {
        uint32_t count = uio_wait(uio, "the DMA");
        uint32_t status = rd32(EDU_IRQ_STATUS);
        printf("dma_irq_count=%u\n", count);
        printf("dma_irq_status=0x%x\n", status);
        wr32(EDU_IRQ_ACK, status);
        printf("irq_status_acked=0x%x\n", rd32(EDU_IRQ_STATUS));
        uio_enable();

        // A software interrupt through IRQ_RAISE arrives the same way.
        wr32(EDU_IRQ_RAISE, 0x5a);
        uint32_t count2 = uio_wait(uio, "IRQ_RAISE");
        printf("raise_irq_count=%u\n", count2 - count);
        printf("raise_irq_status=0x%x\n", rd32(EDU_IRQ_STATUS));
        wr32(EDU_IRQ_ACK, 0x5a);
        uio_enable();
    }
    printf("edu_dma_done=1\n");
    return same ? 0 : 1;
}
