use qdev_runtime::{qemu_device, Irq};

#[qemu_device(name = "keeps-struct", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rwx, write = Self::tx)]
    data: u32,
    #[irq]
    irq: Irq,
}

impl Dev {
    fn tx(&mut self, value: u32) {
        self.irq.set(value != 0);
    }
}

fn level(dev: &Dev) -> bool {
    dev.irq.level()
}

fn main() {}
