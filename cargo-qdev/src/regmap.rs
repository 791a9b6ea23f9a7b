// SPDX-License-Identifier: GPL-2.0-or-later
//! A device's register map for people and tools: a Markdown table, a C
//! header for guest firmware and drivers, and CMSIS-SVD for debuggers and
//! code generators. The input is the module's own description
//! ([`crate::describe`]), so the map is the one the model implements.

use std::fmt::Write;

use crate::describe::{Device, Register};

fn c_ident(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fields_text(r: &Register) -> String {
    r.fields
        .iter()
        .map(|(n, shift, bits)| {
            if *bits == 1 {
                format!("{n} [{shift}]")
            } else {
                format!("{n} [{}:{shift}]", shift + bits - 1)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The register map as Markdown tables, one per region.
pub fn markdown(d: &Device) -> String {
    let mut out = format!("# {}\n\n{}\n\n{}\n", d.name, d.description, d.bus);
    for region in &d.regions {
        let _ = write!(
            out,
            "\n## Region `{}` ({:#x} bytes, {})\n\n| offset | name | width | access | reset | fields | description |\n|---|---|---|---|---|---|---|\n",
            region.name, region.size, region.kind
        );
        for r in &region.registers {
            let name = if r.count > 1 {
                format!("{}[{}] (stride {:#x})", r.name, r.count, r.stride)
            } else {
                r.name.clone()
            };
            let _ = writeln!(
                out,
                "| {:#05x} | {name} | {} | {} | {:#x} | {} | {} |",
                r.offset,
                r.width * 8,
                r.access(),
                r.reset,
                fields_text(r),
                r.doc
            );
        }
    }
    out
}

/// The register map as a C header.
pub fn c_header(d: &Device) -> String {
    let guard = format!("{}_REGS_H", c_ident(&d.name));
    let mut out = format!(
        "/* Register map of {} ({}), written by `cargo qdev regmap`. */\n#ifndef {guard}\n#define {guard}\n",
        d.name, d.description
    );
    for region in &d.regions {
        let p = format!("{}_{}", c_ident(&d.name), c_ident(&region.name));
        let _ = write!(
            out,
            "\n/* region {} ({:#x} bytes, {}) */\n#define {p}_SIZE {:#x}\n",
            region.name, region.size, region.kind, region.size
        );
        for r in &region.registers {
            let n = format!("{p}_{}", c_ident(&r.name));
            if r.count > 1 {
                let _ = writeln!(
                    out,
                    "#define {n}(i) ({:#x} + (i) * {:#x})",
                    r.offset, r.stride
                );
                let _ = writeln!(out, "#define {n}_COUNT {}", r.count);
            } else {
                let _ = writeln!(out, "#define {n} {:#x}", r.offset);
            }
            let _ = writeln!(out, "#define {n}_WIDTH {}", r.width * 8);
            let _ = writeln!(out, "#define {n}_RESET {:#x}", r.reset);
            for (f, shift, bits) in &r.fields {
                let mask = ((1u128 << bits) - 1) << shift;
                let _ = writeln!(out, "#define {n}_{}_SHIFT {shift}", c_ident(f));
                let _ = writeln!(out, "#define {n}_{}_MASK {mask:#x}", c_ident(f));
            }
        }
    }
    let _ = writeln!(out, "\n#endif /* {guard} */");
    out
}

/// The register map as CMSIS-SVD, one peripheral per region (base address
/// 0: where the region lands is the board's or the guest's business).
pub fn svd(d: &Device) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    let _ = writeln!(
        out,
        "<device schemaVersion=\"1.3\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema-instance\" xs:noNamespaceSchemaLocation=\"CMSIS-SVD.xsd\">"
    );
    let _ = writeln!(out, "  <name>{}</name>", xml(&c_ident(&d.name)));
    let _ = writeln!(out, "  <version>1.0</version>");
    let _ = writeln!(out, "  <description>{}</description>", xml(&d.description));
    let _ = writeln!(
        out,
        "  <addressUnitBits>8</addressUnitBits>\n  <width>32</width>\n  <peripherals>"
    );
    for region in &d.regions {
        let _ = writeln!(
            out,
            "    <peripheral>\n      <name>{}</name>\n      <baseAddress>0x0</baseAddress>\n      <addressBlock>\n        <offset>0x0</offset>\n        <size>{:#x}</size>\n        <usage>registers</usage>\n      </addressBlock>\n      <registers>",
            xml(&c_ident(&region.name)),
            region.size
        );
        for r in &region.registers {
            let m = |k: &str| r.masks.get(k).copied().unwrap_or(0);
            let access = match r.access().as_str() {
                "ro" => "read-only",
                "wo" => "write-only",
                _ => "read-write",
            };
            let _ = writeln!(out, "        <register>");
            if r.count > 1 {
                let _ = writeln!(
                    out,
                    "          <dim>{}</dim>\n          <dimIncrement>{:#x}</dimIncrement>\n          <name>{}[%s]</name>",
                    r.count,
                    r.stride,
                    xml(&r.name)
                );
            } else {
                let _ = writeln!(out, "          <name>{}</name>", xml(&r.name));
            }
            let _ = writeln!(
                out,
                "          <description>{}</description>\n          <addressOffset>{:#x}</addressOffset>\n          <size>{}</size>\n          <access>{access}</access>\n          <resetValue>{:#x}</resetValue>",
                xml(&r.doc),
                r.offset,
                r.width * 8,
                r.reset
            );
            let modified = [
                ("w1c", "oneToClear"),
                ("w1s", "oneToSet"),
                ("w0c", "zeroToClear"),
                ("toggle", "oneToToggle"),
            ]
            .iter()
            .find(|(k, _)| m(k) != 0)
            .map(|(_, v)| *v);
            if let Some(v) = modified {
                let _ = writeln!(
                    out,
                    "          <modifiedWriteValues>{v}</modifiedWriteValues>"
                );
            }
            if m("rc") != 0 {
                let _ = writeln!(out, "          <readAction>clear</readAction>");
            } else if m("rs") != 0 {
                let _ = writeln!(out, "          <readAction>set</readAction>");
            }
            if !r.fields.is_empty() {
                let _ = writeln!(out, "          <fields>");
                for (f, shift, bits) in &r.fields {
                    let _ = writeln!(
                        out,
                        "            <field>\n              <name>{}</name>\n              <bitOffset>{shift}</bitOffset>\n              <bitWidth>{bits}</bitWidth>\n            </field>",
                        xml(f)
                    );
                }
                let _ = writeln!(out, "          </fields>");
            }
            let _ = writeln!(out, "        </register>");
        }
        let _ = writeln!(out, "      </registers>\n    </peripheral>");
    }
    let _ = writeln!(out, "  </peripherals>\n</device>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::Description;

    fn device() -> Device {
        let text = "module x\n\
device my-dev sysbus \"A device\"\n\
region my-dev regs size=0x100 kind=mmio\n\
register my-dev regs CTRL offset=0x10 width=4 count=1 stride=4 reset=0x3 rw=0x0 wo=0x0 w1c=0xff w1s=0x0 w0c=0x0 toggle=0x0 rc=0x0 rs=0x0 reserved=0x0 \"Control.\"\n\
field my-dev regs CTRL MODE shift=4 bits=3\n\
register my-dev regs SLOT offset=0x20 width=4 count=8 stride=8 reset=0x0 rw=0xffffffff wo=0x0 w1c=0x0 w1s=0x0 w0c=0x0 toggle=0x0 rc=0x0 rs=0x0 reserved=0x0 \"\"\n";
        Description::parse(text).devices.remove(0)
    }

    #[test]
    fn c_header_has_offsets_shifts_masks_and_resets() {
        let h = c_header(&device());
        assert!(h.contains("#define MY_DEV_REGS_CTRL 0x10\n"), "{h}");
        assert!(h.contains("#define MY_DEV_REGS_CTRL_RESET 0x3\n"));
        assert!(h.contains("#define MY_DEV_REGS_CTRL_MODE_SHIFT 4\n"));
        assert!(h.contains("#define MY_DEV_REGS_CTRL_MODE_MASK 0x70\n"));
        assert!(h.contains("#define MY_DEV_REGS_SLOT(i) (0x20 + (i) * 0x8)\n"));
    }

    #[test]
    fn markdown_has_a_row_per_register() {
        let md = markdown(&device());
        assert!(
            md.contains("| 0x010 | CTRL | 32 | w1c | 0x3 | MODE [6:4] | Control. |"),
            "{md}"
        );
        assert!(md.contains("SLOT[8] (stride 0x8)"));
    }

    #[test]
    fn svd_marks_write_one_to_clear_and_arrays() {
        let x = svd(&device());
        assert!(
            x.contains("<modifiedWriteValues>oneToClear</modifiedWriteValues>"),
            "{x}"
        );
        assert!(x.contains("<dim>8</dim>"));
        assert!(x.contains("<name>SLOT[%s]</name>"));
    }
}
