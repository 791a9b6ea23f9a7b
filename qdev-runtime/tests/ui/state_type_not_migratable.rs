use qdev_runtime::qemu_device;

#[derive(Default)]
struct Engine {
    busy: bool,
}

#[qemu_device(name = "not-migratable", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw)]
    ctrl: u32,
    engine: Engine,
}

fn main() {}
