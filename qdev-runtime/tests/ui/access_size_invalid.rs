use qdev_runtime::qemu_device;

#[qemu_device(name = "size-invalid", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, sizes = [3])]
    ctrl: u32,
}

fn main() {}
