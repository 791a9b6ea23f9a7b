use qdev_runtime::qemu_device;

#[qemu_device(name = "array-gap", sysbus)]
pub struct ArrayGap {
    #[reg(offset = 0x100, count = 4, stride = 0x10)]
    slots: [u32; 4],
    #[reg(offset = 0x104)]
    between: u32,
}

fn main() {}
