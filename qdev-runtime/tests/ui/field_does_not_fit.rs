use qdev_runtime::qemu_device;

#[qemu_device(name = "field-fit", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, field(name = "MODE", bits = 6..=9))]
    ctrl: u8,
}

fn main() {}
