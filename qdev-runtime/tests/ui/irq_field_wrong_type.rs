use qdev_runtime::qemu_device;

#[qemu_device(name = "irq-type", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[irq]
    irq: bool,
}

fn main() {}
