use qdev_runtime::qemu_device;

#[qemu_device(name = "irq-args", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[irq(name = "tx")]
    irq: qdev_runtime::Irq,
}

fn main() {}
