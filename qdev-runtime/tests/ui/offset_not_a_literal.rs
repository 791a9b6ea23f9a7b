use qdev_runtime::qemu_device;

const CTRL: u64 = 0x10;

#[qemu_device(name = "offset-const", sysbus)]
struct Dev {
    #[reg(offset = CTRL, access = rw)]
    ctrl: u32,
}

fn main() {}
