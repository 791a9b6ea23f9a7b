use qdev_runtime::qemu_device;

#[qemu_device(name = "field-overlap", sysbus)]
struct Dev {
    #[reg(
        offset = 0x00,
        access = rw,
        field(name = "MODE", bits = 0..=3),
        field(name = "ENABLE", bit = 3)
    )]
    ctrl: u32,
}

fn main() {}
