use qdev_runtime::qemu_device;

#[qemu_device(
    name = "method-access",
    sysbus,
    register(name = "X", offset = 0x0, read = Self::x, access = w1c)
)]
pub struct MethodAccess {}

impl MethodAccess {
    fn x(&mut self) -> u32 {
        0
    }
}

fn main() {}
