use qdev_runtime::qemu_device;

#[qemu_device(name = "prop-mmio", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[property(default = 0)]
    irq: u32,
}

fn main() {}
