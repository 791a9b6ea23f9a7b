use qdev_runtime::{field_enum, qemu_device};

field_enum! {
    enum Mode {
        Off = 0,
        On = 1,
        Turbo = 7,
    }
}

#[qemu_device(name = "field-enum-wide", sysbus)]
struct Dev {
    #[reg(offset = 0x00, access = rw, field(name = "MODE", bits = 0..=1, values = Mode))]
    ctrl: u32,
}

fn main() {}
