use qdev_runtime::{qemu_device, Irq};

#[qemu_device(name = "hook-before-write", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, before_write = Self::filter)]
    ctrl: u32,
    #[irq]
    irq: Irq,
}

impl Dev {
    fn filter(&mut self, _old: u32, new: u32) {
        self.irq.set(new != 0);
    }
}

fn main() {}
