use qdev_runtime::qemu_device;

#[qemu_device(name = "field-no-bits", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, field(name = "ENABLE"))]
    ctrl: u32,
}

fn main() {}
