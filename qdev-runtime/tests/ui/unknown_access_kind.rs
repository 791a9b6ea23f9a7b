use qdev_runtime::qemu_device;

#[qemu_device(name = "unknown-access", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rwx)]
    ctrl: u32,
}

fn main() {}
