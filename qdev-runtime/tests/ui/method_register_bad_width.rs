use qdev_runtime::qemu_device;

#[qemu_device(
    name = "method-width",
    sysbus,
    register(name = "DATA", offset = 0x04, width = 24, read = Self::data)
)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
