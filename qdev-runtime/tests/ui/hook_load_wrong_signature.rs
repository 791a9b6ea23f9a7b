use qdev_runtime::qemu_device;

#[qemu_device(name = "hook-load", sysbus, load = Self::load)]
pub struct HookLoad {
    #[reg(offset = 0x0)]
    a: u32,
}

impl HookLoad {
    fn load(&mut self) {}
}

fn main() {}
