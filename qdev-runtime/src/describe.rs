// SPDX-License-Identifier: GPL-2.0-or-later
//! A module's description of itself, one fact per line, for `cargo qdev
//! check` and `cargo qdev regmap`: QEMU started with the module preloaded
//! and `QDEV_DESCRIBE=1` in its environment prints it and exits before it
//! registers anything.
//!
//! ```text
//! device qdev-gpio sysbus "qdev example GPIO controller"
//! property qdev-gpio ngpio u32 default=8 min=1 max=8 "Number of pins in use (1 to 8)."
//! region qdev-gpio regs size=0x100 kind=mmio
//! register qdev-gpio regs DATA_OUT offset=0x0 width=4 count=1 stride=4 reset=0x0 rw=0xffffffff ... "Levels of the output pins."
//! field qdev-gpio regs CTRL ENABLE shift=0 bits=1
//! ```

use std::fmt::Write;

use crate::device::{BusKind, DeviceDescriptor, PropertyKind};

/// The environment variable that asks a module to describe itself.
pub const DESCRIBE_ENV: &str = "QDEV_DESCRIBE";

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The description of `devices`.
pub fn describe(devices: &[&DeviceDescriptor]) -> String {
    let mut out = String::new();
    for d in devices {
        let bus = match d.bus {
            BusKind::SysBus => "sysbus".to_string(),
            BusKind::Pci(p) => format!(
                "pci vendor=0x{:04x} device=0x{:04x} class=0x{:04x} prog_if=0x{:02x} revision=0x{:02x} express={} msi={} msix={}",
                p.vendor, p.device, p.class, p.prog_if, p.revision, p.express, p.msi_vectors, p.msix_vectors
            ),
        };
        let _ = writeln!(out, "device {} {bus} {}", d.name, quoted(d.description));
        for p in d.properties {
            let ty = match p.kind {
                PropertyKind::Bool => "bool",
                PropertyKind::U8 => "u8",
                PropertyKind::U16 => "u16",
                PropertyKind::U32 => "u32",
                PropertyKind::U64 => "u64",
                PropertyKind::I32 => "i32",
                PropertyKind::I64 => "i64",
                PropertyKind::Str => "str",
            };
            let range = p
                .range
                .map(|(lo, hi)| format!(" min={lo} max={hi}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "property {} {} {ty} default={}{range} {}",
                d.name,
                p.name,
                p.default,
                quoted(p.description)
            );
        }
        for c in d.chardevs {
            let _ = writeln!(
                out,
                "property {} {} chardev default=0 {}",
                d.name,
                c.name,
                quoted("chardev backend ID")
            );
        }
        for (i, r) in d.regions.iter().enumerate() {
            let kind = if r.config {
                "config".to_string()
            } else if r.io {
                format!("io bar={}", d.bars.get(i).copied().unwrap_or(0))
            } else if matches!(d.bus, BusKind::Pci(_)) {
                format!("mmio bar={}", d.bars.get(i).copied().unwrap_or(0))
            } else {
                "mmio".to_string()
            };
            let _ = writeln!(
                out,
                "region {} {} size=0x{:x} kind={kind}",
                d.name, r.name, r.size
            );
            for reg in r.registers {
                let s = reg.semantics;
                let sizes = if reg.sizes.is_empty() {
                    "any".to_string()
                } else {
                    let v: Vec<String> = reg.sizes.iter().map(u32::to_string).collect();
                    v.join(",")
                };
                let _ = writeln!(
                    out,
                    "register {} {} {} offset=0x{:x} width={} count={} stride={} reset=0x{:x} \
                     rw=0x{:x} wo=0x{:x} w1c=0x{:x} w1s=0x{:x} w0c=0x{:x} toggle=0x{:x} rc=0x{:x} rs=0x{:x} reserved=0x{:x} \
                     sizes={sizes} unimplemented={} unimplemented_bits=0x{:x} {}",
                    d.name, r.name, reg.name, reg.offset, reg.width, reg.count, reg.stride, reg.reset,
                    s.rw, s.wo, s.w1c, s.w1s, s.w0c, s.toggle, s.rc, s.rs, s.reserved,
                    reg.unimplemented, reg.unimplemented_bits,
                    quoted(reg.doc)
                );
                for f in reg.fields {
                    let _ = writeln!(
                        out,
                        "field {} {} {} {} shift={} bits={}",
                        d.name, r.name, reg.name, f.name, f.shift, f.bits
                    );
                }
            }
        }
    }
    out
}
