use qdev_runtime::qemu_device;

#[qemu_device(name = "unknown-reg-arg", sysbus)]
struct Dev {
    #[reg(offset = 0x00, acess = ro)]
    ctrl: u32,
}

fn main() {}
