use qdev_runtime::qemu_device;

#[qemu_device(name = "io-sysbus", sysbus, region(name = "ports", size = 0x10, io))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
