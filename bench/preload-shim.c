/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LD_PRELOAD shim for running QEMU under valgrind with device modules.
 *
 * `env LD_PRELOAD=module.so valgrind ... qemu-system-x86_64` preloads the
 * module into valgrind's own launcher (valgrind.bin, a dynamically linked
 * program) too, and `valgrind --trace-children=yes ... env LD_PRELOAD=...`
 * does the same when valgrind re-executes its launcher for the traced
 * child. A C module refers to QEMU data symbols (`qemu_loglevel`), which
 * only QEMU defines, so the launcher dies with "symbol lookup error".
 *
 * This shim has no undefined symbols beyond libc. It is preloaded
 * everywhere; only in a process that has QEMU's `register_module_init`
 * does it dlopen the modules named in $QDEV_BENCH_MODULES (colon-separated,
 * RTLD_NOW | RTLD_GLOBAL), from its constructor, so their constructors
 * still run before QEMU's main(), as with a plain LD_PRELOAD.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void qdev_bench_shim(void)
{
    const char *list = getenv("QDEV_BENCH_MODULES");
    char *copy, *save = NULL, *path;

    if (!list || !*list || !dlsym(RTLD_DEFAULT, "register_module_init")) {
        return;
    }
    copy = strdup(list);
    for (path = strtok_r(copy, ":", &save); path;
         path = strtok_r(NULL, ":", &save)) {
        if (!dlopen(path, RTLD_NOW | RTLD_GLOBAL)) {
            fprintf(stderr, "qdev-bench shim: %s\n", dlerror());
            exit(1);
        }
    }
    free(copy);
}
