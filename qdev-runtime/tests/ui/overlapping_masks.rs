use qdev_runtime::qemu_device;

#[qemu_device(name = "masks-overlap", sysbus)]
struct Dev {
    #[reg(offset = 0x00, rw = 0x3, w1c = 0x1)]
    ctrl: u32,
}

fn main() {}
