// SPDX-License-Identifier: GPL-2.0-or-later
//! `#[qemu_device]`: a QEMU device from a Rust struct and its datasheet
//! table. See `qdev-runtime` for the runtime and `docs/` for the guide.
//!
//! The macro works in three stages, one module each: `model` parses the
//! attributes into a typed model, `validate` checks it (overlapping or
//! misaligned registers, reset values too wide, registers outside their
//! region, ...), `expand` generates code against `::qdev_runtime`.

use proc_macro::TokenStream;

mod expand;
mod model;
mod validate;

/// Turns a struct into a QEMU device type.
///
/// Example (compiled and tested in `qdev-runtime`'s documentation, which
/// re-exports this macro):
///
/// ```text
/// #[qemu_device(name = "my-uart", sysbus)]
/// pub struct MyUart {
///     #[reg(offset = 0x00, access = rw, write = Self::tx)]  data: u32,
///     #[reg(offset = 0x04, access = w1c)]                     int_status: u32,
///     #[property(default = 16)]                               fifo_depth: u32,
///     #[irq]                                                  irq: Irq,
/// }
/// ```
///
/// The full attribute reference is in `docs/dsl.md`.
#[proc_macro_attribute]
pub fn qemu_device(args: TokenStream, item: TokenStream) -> TokenStream {
    match qemu_device_impl(args.into(), item.into()) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn qemu_device_impl(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let mut item: syn::ItemStruct = syn::parse2(item)?;
    let mut errors = model::Errors::default();
    let model = match model::parse(args, &mut item, &mut errors) {
        Ok(m) => m,
        Err(e) => {
            errors.push(e);
            let ce = errors.finish().unwrap_err().to_compile_error();
            return Ok(quote::quote!(#item #ce));
        }
    };
    let regions = validate::check(&model, &mut errors);
    if let Err(e) = errors.finish() {
        let ce = e.to_compile_error();
        return Ok(quote::quote!(#item #ce));
    }
    let generated = expand::expand(&item, &model, &regions);
    Ok(quote::quote! {
        #item
        #generated
    })
}
