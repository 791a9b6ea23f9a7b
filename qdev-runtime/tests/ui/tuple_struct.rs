use qdev_runtime::qemu_device;

#[qemu_device(name = "tuple", sysbus)]
struct Dev(u32);

fn main() {}
