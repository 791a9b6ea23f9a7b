use qdev_runtime::qemu_device;

#[qemu_device(name = "field-far", sysbus)]
struct Dev {
    #[reg(
        offset = 0x00,
        access = rw,
        field(name = "ENABLE", bit = 0),
        field(name = "MODE", bit = 200)
    )]
    ctrl: u32,
}

fn main() {}
