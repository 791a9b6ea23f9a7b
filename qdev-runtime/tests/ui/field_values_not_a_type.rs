use qdev_runtime::qemu_device;

#[qemu_device(name = "field-values", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, field(name = "MODE", bits = 0..=1, values = "Mode"))]
    ctrl: u32,
}

fn main() {}
