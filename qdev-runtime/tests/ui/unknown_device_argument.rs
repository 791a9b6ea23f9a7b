use qdev_runtime::qemu_device;

#[qemu_device(name = "unknown-arg", sysbus, irqs = 2)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
