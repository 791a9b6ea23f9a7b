use qdev_runtime::qemu_device;

#[qemu_device(name = "overlap-array", sysbus)]
struct Dev {
    #[reg(offset = 0x10, access = rw)]
    channels: [u32; 4],
    #[reg(offset = 0x18, access = rw)]
    ctrl: u32,
}

fn main() {}
