use qdev_runtime::{qemu_device, Irq};

#[qemu_device(name = "not-send", sysbus, realize = Self::start)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    #[irq]
    irq: Irq,
}

impl Dev {
    // Device state is touched only under QEMU's big lock: a handle cannot
    // move to another thread.
    fn start(&mut self) -> Result<(), qdev_runtime::Error> {
        let irq = std::mem::take(&mut self.irq);
        std::thread::spawn(move || irq.raise());
        Ok(())
    }
}

fn main() {}
