use qdev_runtime::qemu_device;

#[qemu_device(name = "several", sysbus)]
struct Dev {
    #[reg(offset = 0x02, access = rw)]
    misaligned: u32,
    #[reg(offset = 0x08, access = rw, reset = 0x1_0000)]
    too_wide: u16,
    #[reg(offset = 0x0c, access = rwx)]
    unknown_kind: u32,
}

fn main() {}
