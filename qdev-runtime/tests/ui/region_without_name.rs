use qdev_runtime::qemu_device;

#[qemu_device(name = "region-no-name", sysbus, region(size = 0x100))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
