use qdev_runtime::qemu_device;

#[qemu_device(name = "field-empty", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, field(name = "MODE", bits = 4..4))]
    ctrl: u32,
}

fn main() {}
