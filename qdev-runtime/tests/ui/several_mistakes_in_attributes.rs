use qdev_runtime::qemu_device;

#[qemu_device(name = "several-attrs", sysbus, colour = "blue")]
struct Dev {
    #[reg(offset = 0x00, access = rwx)]
    unknown_kind: u32,
    #[reg(offset = 0x04, acess = rw)]
    typo: u32,
    #[reg(offset = 0x08)]
    not_an_integer: bool,
    #[property(default = 1.5)]
    ratio: f32,
}

fn main() {}
