use qdev_runtime::qemu_device;

#[qemu_device(name = "post-load-sig", sysbus, post_load = Self::after_load)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
}

impl Dev {
    fn after_load(&mut self) {}
}

fn main() {}
