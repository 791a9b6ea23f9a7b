use qdev_runtime::qemu_device;

#[qemu_device(name = "offset-overflow", sysbus)]
struct Dev {
    #[reg(offset = 0xffff_ffff_ffff_fff8, access = rw)]
    ctrl: u64,
    #[reg(offset = 0x00, access = rw)]
    id: u32,
}

fn main() {}
