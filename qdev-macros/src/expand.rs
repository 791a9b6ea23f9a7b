// SPDX-License-Identifier: GPL-2.0-or-later
//! Stage 3: generate the `Device` impl, the property storage and the
//! registration constructor from a checked model. Everything is named by
//! absolute path (`::qdev_runtime::...`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ExprPath, Ident};

use crate::model::{lit, Bus, Line, Model, PropType, Register, Service, Storage};
use crate::validate::{reg_end, CheckedRegion};

fn width_mask(width: u32) -> u64 {
    if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (width * 8)) - 1
    }
}

fn int_ty(width: u32) -> Ident {
    format_ident!("u{}", width * 8)
}

/// The per-bit semantics of a register as a `Semantics` literal.
fn semantics(r: &Register) -> TokenStream {
    let all = width_mask(r.width) & !r.reserved;
    let mut m = std::collections::BTreeMap::<&str, u64>::new();
    let mut covered = 0u64;
    for (k, mask, _) in &r.masks {
        *m.entry(k.as_str()).or_default() |= mask;
        covered |= mask;
    }
    let rest = all & !covered;
    if r.masks.is_empty() || r.access_explicit {
        *m.entry(r.access.as_str()).or_default() |= rest;
    }
    let get = |k: &str| m.get(k).copied().unwrap_or(0);
    let (rw, wo) = (get("rw") | get("wo"), get("wo"));
    let (w1c, w1s, w0c, toggle, rc, rs) = (
        get("w1c"),
        get("w1s"),
        get("w0c"),
        get("toggle"),
        get("rc"),
        get("rs"),
    );
    let width_mask = width_mask(r.width);
    let reserved = r.reserved;
    quote! {
        ::qdev_runtime::Semantics {
            width_mask: #width_mask, rw: #rw, wo: #wo, w1c: #w1c, w1s: #w1s, w0c: #w0c,
            toggle: #toggle, rc: #rc, rs: #rs, reserved: #reserved,
        }
    }
}

fn sem_is_read_only(r: &Register) -> bool {
    let all = width_mask(r.width) & !r.reserved;
    let mut writable = 0u64;
    for (k, mask, _) in &r.masks {
        if k != "ro" && k != "rc" && k != "rs" {
            writable |= mask;
        }
    }
    let covered: u64 = r.masks.iter().map(|m| m.1).fold(0, |a, b| a | b);
    if (r.masks.is_empty() || r.access_explicit) && !["ro", "rc", "rs"].contains(&r.access.as_str())
    {
        writable |= all & !covered;
    }
    writable == 0
}

fn sem_is_write_only(r: &Register) -> bool {
    r.masks.is_empty() && r.access == "wo"
}

/// A hook as a function pointer of the signature it must have: a wrong
/// signature is one error, where the user wrote the path, and the call
/// through the pointer type-checks regardless.
fn typed_hook(path: &ExprPath, sig: TokenStream) -> TokenStream {
    quote_spanned! {path.span()=> ({ let __h: #sig = #path; __h }) }
}

/// Arrays of at most this many elements get one fast-path arm each.
const MAX_FAST_ELEMENTS: u64 = 64;

/// The generated dispatch of one region, in two parts:
/// - the fast path: a `match offset` on exact values (a jump table, in
///   constant time at any register count) for the accesses a driver makes,
///   full width at a register's first byte, inlined into the MMIO callback;
/// - the slow path (out of line): every other access, narrow, unaligned,
///   straddling, unmapped; a binary search over the registers' first
///   offsets, then a `match` on the register's index.
struct Arms {
    /// Slow path: one body per register, in the order of `bounds`.
    read: Vec<TokenStream>,
    write: Vec<TokenStream>,
    /// Slow path: each register's first and last byte.
    bounds: Vec<(u64, u64)>,
    /// Fast path: exact-offset arms.
    fast_read: Vec<TokenStream>,
    fast_write: Vec<TokenStream>,
    /// Plain fast path: the exact-offset arms that run no author's code,
    /// as (width, offset, body).
    plain_read: Vec<(u32, TokenStream, TokenStream)>,
    plain_write: Vec<(u32, TokenStream, TokenStream)>,
}

fn register_arms(r: &Register, arms: &mut Arms) {
    let name = lit(&r.name);
    let w = r.width;
    let ty = int_ty(w);
    let start = r.offset;
    let last = reg_end(r) - 1;
    let stride = r.stride.unwrap_or(u64::from(w));
    let sem = semantics(r);
    let array = r.count > 1;
    // Index and lane of the access within the register (array).
    // A gap between the instances of an array is unmapped.
    let locate = |write: bool| {
        if !array {
            return quote! { let __lane = (offset - #start) as u32; };
        }
        let bail = if write {
            quote! {
                ::qdev_runtime::__private::unmapped(__D, region, offset, size, Some(value));
                return;
            }
        } else {
            quote! { return ::qdev_runtime::__private::unmapped(__D, region, offset, size, None); }
        };
        quote! {
            let __idx = ((offset - #start) / #stride) as usize;
            let __lane = ((offset - #start) % #stride) as u32;
            if __lane >= #w {
                #bail
            }
        }
    };
    let (locate_read, locate_write) = (locate(false), locate(true));
    let idx_arg = if array { quote!(__idx,) } else { quote!() };
    let idx_ty = if array { quote!(usize,) } else { quote!() };
    let unimp_read = if r.unimplemented {
        quote! { ::qdev_runtime::__private::unimplemented(__D, region, #name, offset, None); }
    } else {
        quote!()
    };
    let unimp_bits = if r.unimplemented_bits != 0 {
        let bits = r.unimplemented_bits;
        quote! {
            let __unimp = (__old ^ __value) & #bits;
            if __unimp != 0 {
                ::qdev_runtime::__private::unimplemented_bits(__D, region, #name, offset, __unimp);
            }
        }
    } else {
        quote!()
    };
    let unimp_write = if r.unimplemented {
        quote! { ::qdev_runtime::__private::unimplemented(__D, region, #name, offset, Some(value)); }
    } else {
        quote!()
    };
    let straddle = quote! {
        if __lane + size > #w {
            return ::qdev_runtime::__private::straddle(__D, region, #name, offset, size);
        }
    };
    // Access sizes the register takes, when the datasheet restricts them.
    let (size_read, size_write) = match &r.sizes {
        Some((sizes, _)) => (
            quote! {
                if !matches!(size, #(#sizes)|*) {
                    return ::qdev_runtime::__private::bad_size(__D, region, #name, offset, size);
                }
            },
            quote! {
                if !matches!(size, #(#sizes)|*) {
                    ::qdev_runtime::__private::bad_size(__D, region, #name, offset, size);
                    return;
                }
            },
        ),
        None => (quote!(), quote!()),
    };

    // What the register does, by where its value lives; then one arm per
    // direction around it.
    let (read_body, write_body) = match &r.storage {
        Storage::Field(field) => {
            let place = if array {
                quote!(self.#field[__idx])
            } else {
                quote!(self.#field)
            };
            let after_read = r.after_read.as_ref().map(|h| {
                let h = typed_hook(h, quote!(fn(&mut Self, #idx_ty #ty)));
                quote!(#h(self, #idx_arg __ret as #ty);)
            });
            let read_body = if sem_is_write_only(r) {
                quote! { return ::qdev_runtime::__private::write_only(__D, region, #name, offset); }
            } else {
                quote! {
                    const __SEM: ::qdev_runtime::Semantics = #sem;
                    let (__ret, __new) = __SEM.read(#place as u64);
                    if __SEM.read_has_side_effects() {
                        #place = __new as #ty;
                    }
                    #after_read
                    ::qdev_runtime::regs::lane_read(__ret, __lane, size)
                }
            };
            let before = r.before_write.as_ref().map(|h| {
                let h = typed_hook(h, quote!(fn(&mut Self, #idx_ty #ty, #ty) -> #ty));
                quote!(let __new = #h(self, #idx_arg __old as #ty, __new as #ty) as u64;)
            });
            let after = r.after_write.as_ref().map(|h| {
                let h = typed_hook(h, quote!(fn(&mut Self, #idx_ty #ty)));
                quote!(#h(self, #idx_arg __new as #ty);)
            });
            let write_body = if sem_is_read_only(r) {
                quote! { ::qdev_runtime::__private::read_only(__D, region, #name, offset, value); }
            } else {
                quote! {
                    const __SEM: ::qdev_runtime::Semantics = #sem;
                    let __old = #place as u64;
                    let __value = __SEM.merge_lane(__old, value, __lane, size);
                    let __bad = __SEM.reserved_violation(__old, __value, __lane, size);
                    if __bad != 0 {
                        ::qdev_runtime::__private::reserved(__D, region, #name, offset, __bad);
                    }
                    #unimp_bits
                    let __new = __SEM.write(__old, __value);
                    #before
                    #place = __new as #ty;
                    #after
                }
            };
            (read_body, write_body)
        }
        Storage::Methods => {
            let read_body = match &r.read_method {
                Some(f) => {
                    let f = typed_hook(f, quote!(fn(&mut Self, #idx_ty) -> #ty));
                    quote! {
                        let __ret = #f(self, #idx_arg) as u64;
                        ::qdev_runtime::regs::lane_read(__ret, __lane, size)
                    }
                }
                None => {
                    quote! { return ::qdev_runtime::__private::write_only(__D, region, #name, offset); }
                }
            };
            // A narrower write reaches the method as the full register
            // value with the other bytes zero.
            let write_body = match &r.after_write {
                Some(f) => {
                    let f = typed_hook(f, quote!(fn(&mut Self, #idx_ty #ty)));
                    quote! {
                        let __value = ::qdev_runtime::regs::lane_merge(0, value, __lane, size);
                        #f(self, #idx_arg __value as #ty);
                    }
                }
                None => {
                    quote! { ::qdev_runtime::__private::read_only(__D, region, #name, offset, value); }
                }
            };
            (read_body, write_body)
        }
    };
    // The fast path: a full-width access at the first byte of the register
    // (of each element of a small array), by exact offset.
    let elements: Vec<(u64, TokenStream)> = if !array {
        vec![(start, quote!())]
    } else if r.count <= MAX_FAST_ELEMENTS {
        (0..r.count)
            .map(|k| {
                let k_usize = k as usize;
                (start + k * stride, quote!(let __idx: usize = #k_usize;))
            })
            .collect()
    } else {
        Vec::new()
    };
    // The plain fast path: what register semantics alone answer, no
    // author's code and no logging (see `Device::mmio_read_plain`).
    let size_ok = r
        .sizes
        .as_ref()
        .map_or(true, |(sizes, _)| sizes.contains(&w));
    let plain_place = match &r.storage {
        Storage::Field(field) if size_ok && !r.unimplemented => Some(if array {
            quote!(self.#field[__idx])
        } else {
            quote!(self.#field)
        }),
        _ => None,
    };
    let plain_read = plain_place
        .as_ref()
        .filter(|_| !sem_is_write_only(r) && r.after_read.is_none());
    let plain_write = plain_place.as_ref().filter(|_| {
        !sem_is_read_only(r)
            && r.before_write.is_none()
            && r.after_write.is_none()
            && r.reserved == 0
            && r.unimplemented_bits == 0
    });
    for (at, idx) in &elements {
        if let Some(place) = plain_read {
            arms.plain_read.push((
                w,
                quote!(#at),
                quote! {
                    {
                        #idx
                        const __SEM: ::qdev_runtime::Semantics = #sem;
                        let (__ret, __new) = __SEM.read(#place as u64);
                        if __SEM.read_has_side_effects() {
                            #place = __new as #ty;
                        }
                        ::core::option::Option::Some(__ret)
                    }
                },
            ));
        }
        if let Some(place) = plain_write {
            arms.plain_write.push((
                w,
                quote!(#at),
                quote! {
                    {
                        #idx
                        const __SEM: ::qdev_runtime::Semantics = #sem;
                        #place = __SEM.write(#place as u64, value) as #ty;
                        true
                    }
                },
            ));
        }
    }
    for (at, idx) in elements {
        arms.fast_read.push(quote! {
            #at if size == #w => {
                #idx
                let __lane = 0u32;
                #size_read
                #unimp_read
                #read_body
            }
        });
        arms.fast_write.push(quote! {
            #at if size == #w => {
                #idx
                let __lane = 0u32;
                #size_write
                #unimp_write
                #write_body
            }
        });
    }
    // The slow path: everything else, once the register is found.
    arms.bounds.push((start, last));
    arms.read.push(quote! {
        {
            #locate_read
            #size_read
            #straddle
            #unimp_read
            #read_body
        }
    });
    arms.write.push(quote! {
        {
            #locate_write
            #size_write
            if __lane + size > #w {
                ::qdev_runtime::__private::straddle(__D, region, #name, offset, size);
                return;
            }
            #unimp_write
            #write_body
        }
    });
}

/// The plain fast path of a region: one `match` on offset and size
/// together, as the key `offset * 8 + size` (one `lea`; distinct for every
/// offset and size 1 to 7, and size 8 collides only with size 0, which QEMU
/// never passes): the size check costs nothing beyond the offset's. In a
/// region smaller than 256 MiB the key fits 32 bits (QEMU passes offsets
/// inside the region), which spares widening `size`.
fn plain_match(
    arms: &[(u32, TokenStream, TokenStream)],
    region_size: Option<u64>,
    none: TokenStream,
) -> TokenStream {
    let narrow = region_size.is_some_and(|s| s <= 1 << 28);
    let keys = arms.iter().map(|(w, at, _)| {
        let w = u64::from(*w);
        if narrow {
            quote!(((#at) * 8 + #w) as u32)
        } else {
            quote!((#at) * 8 + #w)
        }
    });
    let bodies = arms.iter().map(|a| &a.2);
    let consts = (0..arms.len()).map(|k| format_ident!("__K{}", k));
    let consts2 = consts.clone();
    let (ty, key) = if narrow {
        (
            quote!(u32),
            quote!((offset as u32).wrapping_mul(8).wrapping_add(size)),
        )
    } else {
        (
            quote!(u64),
            quote!(offset.wrapping_mul(8).wrapping_add(size as u64)),
        )
    };
    quote! {{
        #(const #consts: #ty = #keys;)*
        match #key {
            #(#consts2 => #bodies)*
            _ => #none,
        }
    }}
}

fn reg_descriptor(r: &Register) -> TokenStream {
    let name = lit(&r.name);
    let offset = r.offset;
    let width = r.width;
    let reset = r.reset;
    let sem = semantics(r);
    let count = r.count as u32;
    let stride = r.stride.unwrap_or(u64::from(r.width));
    let doc = lit(&r.doc);
    let fields = r.fields.iter().map(|f| {
        let (n, shift, bits) = (lit(&f.name), f.shift, f.bits);
        quote!(::qdev_runtime::FieldDescriptor { name: #n, shift: #shift, bits: #bits })
    });
    let sizes: Vec<u32> = r.sizes.as_ref().map(|s| s.0.clone()).unwrap_or_default();
    let (unimplemented, unimplemented_bits) = (r.unimplemented, r.unimplemented_bits);
    quote! {
        ::qdev_runtime::RegisterDescriptor {
            name: #name, offset: #offset, width: #width, reset: #reset, semantics: #sem,
            count: #count, stride: #stride, fields: &[#(#fields),*],
            sizes: &[#(#sizes),*], unimplemented: #unimplemented,
            unimplemented_bits: #unimplemented_bits, doc: #doc,
        }
    }
}

fn prop_kind(t: &PropType) -> TokenStream {
    match t {
        PropType::Bool => quote!(Bool),
        PropType::U8 => quote!(U8),
        PropType::U16 => quote!(U16),
        PropType::U32 => quote!(U32),
        PropType::U64 => quote!(U64),
        PropType::I32 => quote!(I32),
        PropType::I64 => quote!(I64),
        PropType::Str => quote!(Str),
    }
}

fn raw_ty(t: &PropType) -> TokenStream {
    match t {
        PropType::Bool => quote!(bool),
        PropType::U8 => quote!(u8),
        PropType::U16 => quote!(u16),
        PropType::U32 => quote!(u32),
        PropType::U64 => quote!(u64),
        PropType::I32 => quote!(i32),
        PropType::I64 => quote!(i64),
        PropType::Str => quote!(::qdev_runtime::props::RawString),
    }
}

pub fn expand(item: &syn::ItemStruct, model: &Model, regions: &[CheckedRegion]) -> TokenStream {
    let ident = &item.ident;
    let d = &model.device;
    let name = lit(&d.name);
    let desc = lit(d.desc.as_deref().unwrap_or(&d.name));
    let props_ident = format_ident!("__{}QdevProps", ident);

    // Regions and dispatch.
    let mut read_regions = Vec::new();
    let mut write_regions = Vec::new();
    let mut slow_read_regions = Vec::new();
    let mut plain_read_regions = Vec::new();
    let mut plain_write_regions = Vec::new();
    let mut slow_write_regions = Vec::new();
    let mut region_descs = Vec::new();
    let mut bars = Vec::new();
    for (i, region) in regions.iter().enumerate() {
        let i = i as u32;
        let mut arms = Arms {
            read: Vec::new(),
            write: Vec::new(),
            bounds: Vec::new(),
            fast_read: Vec::new(),
            fast_write: Vec::new(),
            plain_read: Vec::new(),
            plain_write: Vec::new(),
        };
        let mut by_offset = region.regs.clone();
        by_offset.sort_by_key(|r| r.offset);
        for r in &by_offset {
            register_arms(r, &mut arms);
        }
        let (ra, wa) = (&arms.read, &arms.write);
        let (fra, fwa) = (&arms.fast_read, &arms.fast_write);
        let n = arms.bounds.len();
        let (starts, lasts): (Vec<u64>, Vec<u64>) = arms.bounds.iter().copied().unzip();
        let ks = 0..n;
        let ks2 = 0..n;
        // The register the offset falls in: the last one starting at or
        // before it, if the offset is not past its end.
        let find = quote! {
            const __STARTS: [u64; #n] = [#(#starts),*];
            const __LASTS: [u64; #n] = [#(#lasts),*];
            let __k = __STARTS.partition_point(|&__s| __s <= offset);
            let __k = if __k > 0 && offset <= __LASTS[__k - 1] { __k - 1 } else { usize::MAX };
        };
        read_regions.push(quote! {
            #i => match offset {
                #(#fra)*
                _ => self.__qdev_mmio_read_slow(region, offset, size),
            },
        });
        write_regions.push(quote! {
            #i => match offset {
                #(#fwa)*
                _ => self.__qdev_mmio_write_slow(region, offset, size, value),
            },
        });
        // The region's size, when the expansion knows it.
        let known_size = region.size_property.is_none().then_some(region.size);
        let pra = plain_match(
            &arms.plain_read,
            known_size,
            quote!(::core::option::Option::None),
        );
        let pwa = plain_match(&arms.plain_write, known_size, quote!(false));
        plain_read_regions.push(quote!(#i => #pra,));
        plain_write_regions.push(quote!(#i => #pwa,));
        slow_read_regions.push(quote! {
            #i => {
                #find
                match __k {
                    #(#ks => #ra)*
                    _ => ::qdev_runtime::__private::unmapped(__D, region, offset, size, None),
                }
            }
        });
        slow_write_regions.push(quote! {
            #i => {
                #find
                match __k {
                    #(#ks2 => #wa)*
                    _ => { ::qdev_runtime::__private::unmapped(__D, region, offset, size, Some(value)); }
                }
            }
        });
        let rname = lit(&region.name);
        let size = region.size;
        let (io, bits64, prefetch, config) =
            (region.io, region.bits64, region.prefetch, region.config);
        let size_property = match &region.size_property {
            Some(p) => {
                let p = lit(p);
                quote!(Some(#p))
            }
            None => quote!(None),
        };
        let regs = region.regs.iter().map(|r| reg_descriptor(r));
        region_descs.push(quote! {
            ::qdev_runtime::RegionDescriptor {
                name: #rname, size: #size, io: #io, bits64: #bits64, prefetch: #prefetch, config: #config,
                size_property: #size_property, registers: &[#(#regs),*],
            }
        });
        let bar = if region.config {
            u8::MAX
        } else {
            region.bar as u8
        };
        bars.push(quote!(#bar));
    }

    // The slow path of dispatch, out of line (see `Arms`).
    let slow_dispatch = quote! {
        impl #ident {
            /// The accesses the exact-offset fast path does not take:
            /// narrow, unaligned, straddling, unmapped, large arrays.
            #[doc(hidden)]
            #[inline(never)]
            fn __qdev_mmio_read_slow(&mut self, region: u32, offset: u64, size: u32) -> u64 {
                const __D: &::qdev_runtime::DeviceDescriptor = <#ident as ::qdev_runtime::Device>::DESCRIPTOR;
                match region {
                    #(#slow_read_regions)*
                    _ => ::qdev_runtime::__private::unmapped(__D, region, offset, size, None),
                }
            }

            #[doc(hidden)]
            #[inline(never)]
            fn __qdev_mmio_write_slow(&mut self, region: u32, offset: u64, size: u32, value: u64) {
                const __D: &::qdev_runtime::DeviceDescriptor = <#ident as ::qdev_runtime::Device>::DESCRIPTOR;
                match region {
                    #(#slow_write_regions)*
                    _ => { ::qdev_runtime::__private::unmapped(__D, region, offset, size, Some(value)); }
                }
            }
        }
    };

    // Reset: every field register to its reset value.
    let resets: Vec<TokenStream> = model
        .regs
        .iter()
        .filter_map(|r| match &r.storage {
            Storage::Field(f) => {
                let ty = int_ty(r.width);
                let v = r.reset;
                Some(if r.count > 1 {
                    quote!(for __r in self.#f.iter_mut() { *__r = #v as #ty; })
                } else {
                    quote!(self.#f = #v as #ty;)
                })
            }
            Storage::Methods => None,
        })
        .collect();
    let reset_hook = d.hooks.reset.as_ref().map(|h| {
        let h = typed_hook(h, quote!(fn(&mut Self)));
        quote!(#h(self);)
    });
    let realize_hook = match &d.hooks.realize {
        Some(h) => {
            let h = typed_hook(
                h,
                quote!(fn(&mut Self) -> ::core::result::Result<(), ::qdev_runtime::Error>),
            );
            quote!(#h(self))
        }
        None => quote!(::core::result::Result::Ok(())),
    };
    // Migratable state: the migrated fields in declaration order (each
    // through `Migrate`, reported at its type when that is missing), then
    // the device's own `save`/`load` hooks, then `post_load`.
    let (version, minimum_version) = (d.version.0, d.minimum_version.0);
    let save_fields = model.migrated.iter().map(|m| {
        let f = &m.field;
        quote_spanned!(m.span=> ::qdev_runtime::state::save_field(&self.#f, w);)
    });
    let load_fields = model.migrated.iter().map(|m| {
        let f = &m.field;
        let load = quote_spanned!(m.span=> ::qdev_runtime::state::load_field(&mut self.#f, r)?;);
        match m.since {
            1 => load,
            since => quote!(if version >= #since { #load }),
        }
    });
    let save_hook = d.hooks.save.as_ref().map(|h| {
        let h = typed_hook(h, quote!(fn(&Self, &mut ::qdev_runtime::StateWriter)));
        quote!(#h(self, w);)
    });
    let load_hook = d.hooks.load.as_ref().map(|h| {
        let h = typed_hook(
            h,
            quote!(
                fn(
                    &mut Self,
                    &mut ::qdev_runtime::StateReader<'_>,
                ) -> ::core::result::Result<(), ::qdev_runtime::Error>
            ),
        );
        quote!(#h(self, r)?;)
    });
    let post_load_hook = d.hooks.post_load.as_ref().map(|h| {
        let h = typed_hook(
            h,
            quote!(fn(&mut Self, u32) -> ::core::result::Result<(), ::qdev_runtime::Error>),
        );
        quote!(#h(self, version)?;)
    });
    let unrealize_hook = d.hooks.unrealize.as_ref().map(|h| {
        let h = typed_hook(h, quote!(fn(&mut Self)));
        quote!(#h(self);)
    });
    let gpio_in_arms: Vec<TokenStream> = d
        .gpio_in
        .iter()
        .enumerate()
        .map(|(g, gi)| {
            let g = g as u32;
            let h = typed_hook(&gi.handler, quote!(fn(&mut Self, u32, bool)));
            quote!(#g => #h(self, line, level),)
        })
        .collect();
    let gpio_in_descs = d.gpio_in.iter().map(|gi| {
        let n = match &gi.name {
            Some(n) => {
                let n = lit(n);
                quote!(Some(#n))
            }
            None => quote!(None),
        };
        let c = gi.count as u32;
        quote!(::qdev_runtime::GpioDescriptor { name: #n, count: #c })
    });

    // Lines.
    let mut irq_count = 0u32;
    let mut gpio_out_descs = Vec::new();
    let mut line_inits = Vec::new();
    for lf in &model.lines {
        let f = &lf.field;
        let n = lf.array.unwrap_or(1) as u32;
        let make = |which: TokenStream| -> TokenStream {
            match lf.array {
                Some(_) => {
                    quote!(::core::array::from_fn(|__i| { let __i = __i as u32; wiring.line(#which) }))
                }
                None => quote!({ let __i = 0u32; wiring.line(#which) }),
            }
        };
        let init = match &lf.kind {
            Line::Irq if d.bus == Bus::Pci => make(quote!(::qdev_runtime::LineRef::Intx)),
            Line::Irq => {
                let base = irq_count;
                irq_count += n;
                make(quote!(::qdev_runtime::LineRef::Irq(#base + __i)))
            }
            Line::GpioOut(name) => {
                let group = gpio_out_descs.len() as u32;
                let nm = match name {
                    Some(s) => {
                        let s = lit(s);
                        quote!(Some(#s))
                    }
                    None => quote!(None),
                };
                gpio_out_descs
                    .push(quote!(::qdev_runtime::GpioDescriptor { name: #nm, count: #n }));
                make(quote!(::qdev_runtime::LineRef::GpioOut { group: #group, line: __i }))
            }
        };
        line_inits.push(quote!(#f: #init,));
    }

    // Service handles, and the methods their events call.
    let mut timer_arms = Vec::new();
    let mut chardev_names = Vec::new();
    let mut chardev_required = Vec::new();
    let (mut can_arms, mut rx_arms, mut ev_arms) = (Vec::new(), Vec::new(), Vec::new());
    for sf in &model.services {
        let f = &sf.field;
        match &sf.kind {
            Service::Timer { callback } => {
                let i = timer_arms.len();
                let iu = i as u32;
                let callback = typed_hook(callback, quote!(fn(&mut Self)));
                timer_arms.push(quote!(#iu => #callback(self),));
                line_inits.push(quote!(#f: wiring.timer(#i),));
            }
            Service::Dma => line_inits.push(quote!(#f: wiring.dma(),)),
            Service::Msi => line_inits.push(quote!(#f: wiring.msi(),)),
            Service::System => line_inits.push(quote!(#f: wiring.system(),)),
            Service::Chardev {
                name,
                required,
                receive,
                can_receive,
                event,
            } => {
                let i = chardev_names.len();
                let iu = i as u32;
                chardev_names.push(lit(name));
                chardev_required.push(*required);
                line_inits.push(quote!(#f: wiring.chardev(#i),));
                if let (Some(rx), Some(can)) = (receive, can_receive) {
                    let rx = typed_hook(rx, quote!(fn(&mut Self, &[u8])));
                    let can = typed_hook(can, quote!(fn(&mut Self) -> usize));
                    can_arms.push(quote!(#iu => #can(self),));
                    rx_arms.push(quote!(#iu => #rx(self, bytes),));
                }
                if let Some(ev) = event {
                    let ev = typed_hook(ev, quote!(fn(&mut Self, ::qdev_runtime::CharEvent)));
                    ev_arms.push(quote!(#iu => #ev(self, event),));
                }
            }
        }
    }
    let timer_count = timer_arms.len() as u32;

    // Properties.
    let mut raw_fields = Vec::new();
    let mut raw_defaults = Vec::new();
    let mut prop_descs = Vec::new();
    let mut prop_inits = Vec::new();
    let mut default_consts = Vec::new();
    for p in &model.props {
        let f = &p.field;
        let rt = raw_ty(&p.ty);
        raw_fields.push(quote!(#f: #rt,));
        let pname = lit(&p.name);
        let kind = prop_kind(&p.ty);
        let pdesc = lit(&p.desc);
        let is_str = matches!(p.ty, PropType::Str);
        let default_const = format_ident!("__qdev_default_{}", f);
        let default_num = match (&p.default, is_str) {
            (Some(_), false) => quote!(#props_ident::#default_const as i128),
            _ => quote!(0i128),
        };
        if let (Some(e), false) = (&p.default, is_str) {
            default_consts.push(quote_spanned!(e.span()=>
                #[allow(non_upper_case_globals)]
                const #default_const: #rt = #e;
            ));
        }
        let range = match (&p.min, &p.max) {
            (None, None) => quote!(None),
            (min, max) => {
                let lo = min
                    .as_ref()
                    .map(|e| quote!((#e) as i128))
                    .unwrap_or(quote!(i128::MIN));
                let hi = max
                    .as_ref()
                    .map(|e| quote!((#e) as i128))
                    .unwrap_or(quote!(i128::MAX));
                quote!(Some((#lo, #hi)))
            }
        };
        prop_descs.push(quote! {
            ::qdev_runtime::PropertyDescriptor {
                name: #pname,
                kind: ::qdev_runtime::PropertyKind::#kind,
                offset: ::core::mem::offset_of!(#props_ident, #f),
                default: #default_num,
                range: #range,
                description: #pdesc,
            }
        });
        if is_str {
            raw_defaults.push(quote!(#f: ::core::default::Default::default(),));
            let dflt = match &p.default {
                Some(e) => quote!(::std::string::String::from(#e)),
                None => quote!(::std::string::String::new()),
            };
            prop_inits.push(quote!(#f: props.#f.get().unwrap_or_else(|| #dflt),));
        } else {
            let dv = match &p.default {
                Some(_) => {
                    let c = format_ident!("__qdev_default_{}", f);
                    quote!(Self::#c)
                }
                None => quote!(::core::default::Default::default()),
            };
            raw_defaults.push(quote!(#f: #dv,));
            let check = match (&p.min, &p.max) {
                (None, None) => quote!(),
                _ => quote! {
                    if let ::core::option::Option::Some((__lo, __hi)) = __p.range {
                        ::qdev_runtime::props::check_range(#pname, props.#f as i128, __lo, __hi)?;
                    }
                },
            };
            prop_inits.push(quote!(#f: {
                let __p = &<Self as ::qdev_runtime::Device>::DESCRIPTOR.properties
                    .iter().find(|p| p.name == #pname).expect("generated");
                let _ = __p;
                #check
                props.#f
            },));
        }
    }

    // Register fields start at their reset values.
    let reg_inits = model.regs.iter().filter_map(|r| match &r.storage {
        Storage::Field(f) => {
            let ty = int_ty(r.width);
            let v = r.reset;
            Some(if r.count > 1 {
                let n = r.count as usize;
                quote!(#f: [#v as #ty; #n],)
            } else {
                quote!(#f: #v as #ty,)
            })
        }
        Storage::Methods => None,
    });
    let plain = model
        .plain
        .iter()
        .map(|(f, span)| quote_spanned!(*span=> #f: ::core::default::Default::default(),));

    let bus = match (&d.bus, &d.pci) {
        (Bus::Pci, Some(p)) => {
            let (msi, msix, msix_bar) =
                (p.msi as u32, p.msix as u32, p.msix_bar.unwrap_or(0) as u8);
            let (v, dv, sv, s, c, pi, r, x, pin) = (
                p.vendor as u16,
                p.device as u16,
                p.subsystem_vendor as u16,
                p.subsystem as u16,
                p.class as u16,
                p.prog_if as u8,
                p.revision as u8,
                p.express,
                p.interrupt_pin as u8,
            );
            let has_intx = model.lines.iter().any(|l| matches!(l.kind, Line::Irq));
            let pin = if has_intx { pin } else { 0 };
            quote! {
                ::qdev_runtime::BusKind::Pci(::qdev_runtime::PciIds {
                    vendor: #v, device: #dv, subsystem_vendor: #sv, subsystem: #s,
                    class: #c, prog_if: #pi, revision: #r, express: #x, interrupt_pin: #pin,
                    msi_vectors: #msi, msix_vectors: #msix, msix_bar: #msix_bar,
                })
            }
        }
        _ => quote!(::qdev_runtime::BusKind::SysBus),
    };

    // Field constants (`CTRL_ENABLE`) and getters of enum-valued fields.
    let mut field_items = Vec::new();
    let mut field_checks = Vec::new();
    for r in &model.regs {
        for f in &r.fields {
            let cname = format_ident!("{}_{}", r.name.to_uppercase(), f.name.to_uppercase());
            let (shift, bits) = (f.shift, f.bits);
            let doc = format!(
                "Field {} of register {} (bits {}..={}).",
                f.name,
                r.name,
                f.shift,
                f.shift + f.bits - 1
            );
            field_items.push(quote! {
                #[doc = #doc]
                #[allow(dead_code)]
                pub const #cname: ::qdev_runtime::Field = ::qdev_runtime::Field::new(#shift, #bits);
            });
            if let Some(values) = &f.values {
                let msg = format!(
                    "field {} of register {} has {} bits: a value of `{}` does not fit",
                    f.name,
                    r.name,
                    f.bits,
                    quote!(#values)
                );
                let bits = f.bits;
                field_checks.push(quote_spanned! {values.span()=>
                    const _: () = {
                        let __v = <#values as ::qdev_runtime::FieldValue>::VALUES;
                        let mut __i = 0;
                        while __i < __v.len() {
                            if #bits < 64 && __v[__i] >> #bits != 0 {
                                ::core::panic!(#msg);
                            }
                            __i += 1;
                        }
                    };
                });
            }
            if let (Some(values), Storage::Field(field)) = (&f.values, &r.storage) {
                if r.count == 1 {
                    let getter = format_ident!("{}_{}", field, f.name.to_lowercase());
                    let doc = format!(
                        "The value of field {} of {}, if it names one of [`{}`].",
                        f.name,
                        r.name,
                        quote!(#values)
                    );
                    field_items.push(quote! {
                        #[doc = #doc]
                        #[allow(dead_code)]
                        pub fn #getter(&self) -> ::core::option::Option<#values> {
                            <#values as ::qdev_runtime::FieldValue>::from_bits(Self::#cname.get(self.#field))
                        }
                    });
                }
            }
        }
    }

    let used_fields: Vec<&Ident> = model
        .props
        .iter()
        .map(|p| &p.field)
        .chain(model.regs.iter().filter_map(|r| match &r.storage {
            Storage::Field(f) => Some(f),
            Storage::Methods => None,
        }))
        .collect();

    let ctor_name = format_ident!("__qdev_register_{}", ident);
    let vis = &item.vis;
    let props_doc = format!("Raw property storage of [`{ident}`] (generated).");

    quote! {
        #[doc = #props_doc]
        #[doc(hidden)]
        #[repr(C)]
        #[allow(non_camel_case_types)]
        #vis struct #props_ident { #(#raw_fields)* }

        impl #props_ident {
            #(#default_consts)*
        }

        impl ::core::default::Default for #props_ident {
            fn default() -> Self {
                Self { #(#raw_defaults)* }
            }
        }

        impl ::qdev_runtime::Device for #ident {
            const DESCRIPTOR: &'static ::qdev_runtime::DeviceDescriptor = &::qdev_runtime::DeviceDescriptor {
                name: #name,
                description: #desc,
                bus: #bus,
                regions: &[#(#region_descs),*],
                bars: &[#(#bars),*],
                properties: &[#(#prop_descs),*],
                irqs: #irq_count,
                gpio_out: &[#(#gpio_out_descs),*],
                gpio_in: &[#(#gpio_in_descs),*],
                timers: #timer_count,
                chardevs: &[#(::qdev_runtime::ChardevDescriptor {
                    name: #chardev_names,
                    required: #chardev_required,
                }),*],
                version: #version,
                minimum_version: #minimum_version,
            };

            type Props = #props_ident;

            fn instantiate(
                props: &Self::Props,
                wiring: &mut ::qdev_runtime::Wiring<'_>,
            ) -> ::core::result::Result<Self, ::qdev_runtime::Error> {
                let _ = (&props, &wiring);
                ::core::result::Result::Ok(Self {
                    #(#reg_inits)*
                    #(#prop_inits)*
                    #(#line_inits)*
                    #(#plain)*
                })
            }

            #[inline]
            fn mmio_read(&mut self, region: u32, offset: u64, size: u32) -> u64 {
                const __D: &::qdev_runtime::DeviceDescriptor = <#ident as ::qdev_runtime::Device>::DESCRIPTOR;
                match region {
                    #(#read_regions)*
                    _ => ::qdev_runtime::__private::unmapped(__D, region, offset, size, None),
                }
            }

            #[inline]
            fn mmio_write(&mut self, region: u32, offset: u64, size: u32, value: u64) {
                const __D: &::qdev_runtime::DeviceDescriptor = <#ident as ::qdev_runtime::Device>::DESCRIPTOR;
                match region {
                    #(#write_regions)*
                    _ => { ::qdev_runtime::__private::unmapped(__D, region, offset, size, Some(value)); }
                }
            }

            #[inline(always)]
            fn mmio_read_plain(&mut self, region: u32, offset: u64, size: u32) -> ::core::option::Option<u64> {
                let _ = (offset, size);
                match region {
                    #(#plain_read_regions)*
                    _ => ::core::option::Option::None,
                }
            }

            #[inline(always)]
            fn mmio_write_plain(&mut self, region: u32, offset: u64, size: u32, value: u64) -> bool {
                let _ = (offset, size, value);
                match region {
                    #(#plain_write_regions)*
                    _ => false,
                }
            }

            fn reset(&mut self, _kind: ::qdev_runtime::ResetKind) {
                #(#resets)*
                #reset_hook
            }

            fn realize(&mut self) -> ::core::result::Result<(), ::qdev_runtime::Error> {
                #realize_hook
            }

            fn unrealize(&mut self) {
                #unrealize_hook
            }

            fn gpio_in(&mut self, group: u32, line: u32, level: bool) {
                let _ = (line, level);
                match group {
                    #(#gpio_in_arms)*
                    _ => {}
                }
            }

            fn save_state(&self, w: &mut ::qdev_runtime::StateWriter) {
                let _ = &w;
                #(#save_fields)*
                #save_hook
            }

            fn load_state(
                &mut self,
                r: &mut ::qdev_runtime::StateReader<'_>,
                version: u32,
            ) -> ::core::result::Result<(), ::qdev_runtime::Error> {
                let _ = (&r, version);
                #(#load_fields)*
                #load_hook
                #post_load_hook
                ::core::result::Result::Ok(())
            }

            fn timer_fired(&mut self, index: u32) {
                match index {
                    #(#timer_arms)*
                    _ => {}
                }
            }

            fn chardev_can_receive(&mut self, index: u32) -> usize {
                match index {
                    #(#can_arms)*
                    _ => 0,
                }
            }

            fn chardev_receive(&mut self, index: u32, bytes: &[u8]) {
                let _ = bytes;
                match index {
                    #(#rx_arms)*
                    _ => {}
                }
            }

            fn chardev_event(&mut self, index: u32, event: ::qdev_runtime::CharEvent) {
                let _ = event;
                match index {
                    #(#ev_arms)*
                    _ => {}
                }
            }
        }

        #(#field_checks)*

        #slow_dispatch

        impl #ident {
            #(#field_items)*

            #[doc(hidden)]
            #[allow(dead_code, clippy::all)]
            fn __qdev_check_hooks(&self) {
                // The runtime reads these (dispatch, region sizes): not dead.
                let _ = (#(&self.#used_fields,)*);
            }
        }

        #[::qdev_runtime::__private::ctor::ctor(crate_path = ::qdev_runtime::__private::ctor)]
        #[allow(non_snake_case)]
        fn #ctor_name() {
            ::qdev_runtime::register::<#ident>();
        }
    }
}
