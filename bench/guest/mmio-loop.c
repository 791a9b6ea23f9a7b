/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest side of the end-to-end benchmark (built with gcc -static, run
 * inside the Linux guest under TCG):
 *
 *   mmio-loop VENDOR DEVICE ITERATIONS [INDEX]
 *
 * finds the PCI function VENDOR:DEVICE in sysfs (the INDEXth one, 0 by
 * default, in the order of their sysfs names), maps its BAR 0 through
 * resource0 (uncached, as /dev/mem would), and runs ITERATIONS times the
 * register mix of the dispatch benchmark:
 *
 *   read ID (0x00), write SCRATCH (0x04), read SCRATCH, read IRQ_STATUS (0x08)
 *
 * then prints `accesses=N ns=T` (CLOCK_MONOTONIC around the loop).
 * Exit status 1 on any error, 2 if the device answered wrongly.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ID 0x71646576u

static unsigned long read_hex(const char *dir, const char *file)
{
    char path[512], buf[64] = "";
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "r");
    if (!f) {
        return ~0ul;
    }
    if (!fgets(buf, sizeof(buf), f)) {
        buf[0] = 0;
    }
    fclose(f);
    return strtoul(buf, NULL, 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

int main(int argc, char **argv)
{
    unsigned long vendor, device, iters, i, index = 0, seen = 0;
    char dir[512] = "", path[600];
    char names[64][256];
    int nnames = 0, k;
    struct dirent *e;
    DIR *d;
    int fd;
    volatile uint32_t *r;
    struct timespec t0, t1;
    uint32_t sum = 0;

    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s VENDOR DEVICE ITERATIONS [INDEX]\n", argv[0]);
        return 1;
    }
    vendor = strtoul(argv[1], NULL, 0);
    device = strtoul(argv[2], NULL, 0);
    iters = strtoul(argv[3], NULL, 0);
    if (argc == 5) {
        index = strtoul(argv[4], NULL, 0);
    }

    d = opendir("/sys/bus/pci/devices");
    if (!d) {
        perror("/sys/bus/pci/devices");
        return 1;
    }
    while ((e = readdir(d)) && nnames < 64) {
        if (e->d_name[0] != '.') {
            snprintf(names[nnames++], sizeof(names[0]), "%s", e->d_name);
        }
    }
    closedir(d);
    qsort(names, nnames, sizeof(names[0]), by_name);
    for (k = 0; k < nnames; k++) {
        char cand[512];
        snprintf(cand, sizeof(cand), "/sys/bus/pci/devices/%.255s", names[k]);
        if (read_hex(cand, "vendor") == vendor &&
            read_hex(cand, "device") == device && seen++ == index) {
            snprintf(dir, sizeof(dir), "%s", cand);
        }
    }
    if (!dir[0]) {
        fprintf(stderr, "no PCI device %04lx:%04lx number %lu\n", vendor, device,
                index);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/resource0", dir);
    fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    r = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (r == MAP_FAILED) {
        perror("mmap resource0");
        return 1;
    }
    if (r[0] != ID) {
        fprintf(stderr, "%s: ID reads 0x%08x\n", dir, r[0]);
        return 2;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < iters; i++) {
        sum += r[0];
        r[1] = (uint32_t)i;
        sum += r[1];
        sum += r[2];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    /* sum = iters * ID + sum(i) (IRQ_STATUS stays 0), modulo 2^32 */
    {
        uint32_t want = (uint32_t)(iters * ID);
        for (i = 0; i < iters; i++) {
            want += (uint32_t)i;
        }
        if (sum != want) {
            fprintf(stderr, "%s: wrong answers (sum 0x%08x, want 0x%08x)\n",
                    dir, sum, want);
            return 2;
        }
    }
    printf("accesses=%lu ns=%lld\n", iters * 4,
           (long long)(t1.tv_sec - t0.tv_sec) * 1000000000ll +
               (t1.tv_nsec - t0.tv_nsec));
    return 0;
}
