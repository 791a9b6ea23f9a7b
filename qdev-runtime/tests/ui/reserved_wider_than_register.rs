use qdev_runtime::qemu_device;

#[qemu_device(name = "reserved-wide", sysbus)]
struct Dev {
    #[reg(offset = 0x00, rw = 0x0f, reserved = 0x1f0)]
    ctrl: u8,
}

fn main() {}
