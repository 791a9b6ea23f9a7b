use qdev_runtime::qemu_device;

#[qemu_device(name = "masks-reserved", sysbus)]
struct Dev {
    #[reg(offset = 0x00, rw = 0x1ff, reserved = 0xffff_ff00)]
    ctrl: u32,
}

fn main() {}
