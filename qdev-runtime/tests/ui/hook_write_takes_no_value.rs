use qdev_runtime::{qemu_device, Irq};

#[qemu_device(name = "hook-write", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = wo, write = Self::tx)]
    data: u32,
    #[irq]
    irq: Irq,
}

impl Dev {
    fn tx(&mut self) {
        self.irq.raise();
    }
}

fn main() {}
