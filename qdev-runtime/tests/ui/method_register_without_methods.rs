use qdev_runtime::qemu_device;

#[qemu_device(name = "method-reg", sysbus, register(name = "DATA", offset = 0x04))]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

fn main() {}
