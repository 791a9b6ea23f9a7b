use qdev_runtime::qemu_device;

#[qemu_device(name = "size-wide", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, sizes = [2, 4])]
    ctrl: u16,
}

fn main() {}
