use qdev_runtime::qemu_device;

#[qemu_device(name = "overlap", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[reg(offset = 0x02, access = rw)]
    status: u32,
}

fn main() {}
