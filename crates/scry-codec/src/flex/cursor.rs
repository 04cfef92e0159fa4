//! [`WriteCursor`]: appends a run of bytes to a `Vec<u8>` through a local cursor.
//!
//! Every item the writer stores (a string, a vector, a map) is a short run of small writes.
//! Going through `Vec::push`/`extend_from_slice` reloads and stores the vector's length and
//! checks its capacity on every write; a cursor reserves the whole run once, writes through a
//! cursor held in registers, and sets the length once at the end.
//!
//! This module holds the crate's `unsafe` code but two: one `from_utf8_unchecked` of strings
//! the parse validated (`view::ctx::Ctx::str_ref`), and the call of the template compare
//! compiled for AVX2 once the processor is known to have it (`view::parse::template`).
//! Soundness: the cursor owns
//! `&mut Vec<u8>` for its lifetime (so the vector is never reallocated meanwhile), writes only
//! below `start + limit` where `limit` bytes were reserved (every write, or run of writes,
//! first checks that all of it fits, and is skipped whole otherwise), and on drop sets the
//! length to `start + written`, where `written` counts bytes that were all initialized,
//! contiguously from `start`. A skipped write never happens with the sizes the sink
//! reserves; it would only shorten the output, never expose uninitialized memory.

use std::ptr;

use super::value::Val;

/// The body of `WriteCursor::widened_*`: every byte of `$data` as a little-endian `$t`, 16 at a
/// time through fixed-size arrays (which the compiler turns into vector instructions).
macro_rules! widen {
    ($cursor:expr, $data:expr, $t:ty) => {{
        const N: usize = std::mem::size_of::<$t>();
        let f: &mut WriteCursor<'_> = $cursor;
        let data: &[u8] = $data;
        if let Some(total) = data.len().checked_mul(N) {
            if f.fits(total) {
                let mut chunks = data.chunks_exact(16);
                // SAFETY: `fits(total)`; each chunk of 16 input bytes writes 16 * N bytes and
                // each remaining byte N, so the writes cover exactly `[0, total)` from the
                // current end, inside the reserved room; `written` then grows by `total`.
                unsafe {
                    let mut p = f.dst.add(f.written);
                    for chunk in &mut chunks {
                        if let Some(c) = chunk.first_chunk::<16>() {
                            let wide: [$t; 16] = std::array::from_fn(|i| <$t>::from(c[i]).to_le());
                            ptr::copy_nonoverlapping(wide.as_ptr().cast::<u8>(), p, 16 * N);
                            p = p.add(16 * N);
                        }
                    }
                    for &b in chunks.remainder() {
                        let wide = <$t>::from(b).to_le_bytes();
                        ptr::copy_nonoverlapping(wide.as_ptr(), p, N);
                        p = p.add(N);
                    }
                }
                f.written += total;
            }
        }
    }};
}

/// A run of bytes being appended to a vector.
pub(crate) struct WriteCursor<'a> {
    buf: &'a mut Vec<u8>,
    /// The vector's length when the cursor started.
    start: usize,
    /// `buf`'s data pointer plus `start`. Held here, not reloaded: byte stores may alias
    /// anything, so the compiler would otherwise reload the vector's pointer after each.
    /// Valid for `limit` bytes while the cursor lives, since the cursor holds the vector
    /// exclusively and never reallocates it.
    dst: *mut u8,
    /// Bytes written so far, all initialized, from `start` on.
    written: usize,
    /// Bytes reserved: `buf.capacity() >= start + limit`.
    limit: usize,
}

impl<'a> WriteCursor<'a> {
    /// Starts a cursor of up to `limit` bytes at the end of `buf`.
    #[inline(always)]
    pub(crate) fn new(buf: &'a mut Vec<u8>, limit: usize) -> Self {
        buf.reserve(limit);
        let start = buf.len();
        // SAFETY: `start <= capacity`, so the pointer stays within (or one past) the
        // allocation.
        let dst = unsafe { buf.as_mut_ptr().add(start) };
        WriteCursor {
            buf,
            start,
            dst,
            written: 0,
            limit,
        }
    }

    /// True when `n` more bytes fit in the reserved room.
    #[inline(always)]
    fn fits(&self, n: usize) -> bool {
        n <= self.limit - self.written
    }

    /// Writes the low `N` bytes of `x`, little-endian (`N` is at most 8).
    #[inline(always)]
    pub(crate) fn put<const N: usize>(&mut self, x: u64) {
        if let Some(bytes) = x.to_le_bytes().first_chunk::<N>() {
            if self.fits(N) {
                // SAFETY: `written + N <= limit`, so the N bytes written are inside the room
                // reserved at `dst`; `[u8; N]` has alignment 1.
                unsafe {
                    let dst = self.dst.add(self.written);
                    ptr::write_unaligned(dst.cast::<[u8; N]>(), *bytes);
                }
                self.written += N;
            }
        }
    }

    /// Writes one byte.
    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        self.put::<1>(u64::from(b));
    }

    /// Writes `n` zero bytes (`n` small: alignment padding).
    #[inline(always)]
    pub(crate) fn zeros(&mut self, n: usize) {
        for _ in 0..n {
            self.byte(0);
        }
    }

    /// Writes `bytes`.
    #[inline(always)]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        if !self.fits(n) {
            return;
        }
        // SAFETY: `[dst, dst + n)` lies inside the reserved room (`fits(n)`).
        unsafe { copy_short(bytes, self.dst.add(self.written)) };
        self.written += n;
    }

    /// Writes `pad` zeros, `len` in a slot of width `w` (`1 << w` bytes), `bytes` and, if
    /// `nul`, a zero byte: a padded, length-prefixed string or blob. Checks once that it all
    /// fits (or writes nothing).
    #[inline(always)]
    pub(crate) fn sized(&mut self, pad: usize, w: u8, bytes: &[u8], nul: bool) {
        let n = 1usize << (w & 3);
        let total = pad + n + bytes.len() + usize::from(nul);
        if !self.fits(total) {
            return;
        }
        let len = bytes.len() as u64;
        // SAFETY: `fits(total)`: the writes below cover exactly `[0, total)` from the
        // current end (padding, the `n`-byte length slot, the bytes, the NUL), inside the
        // reserved room; `written` then grows by `total`.
        unsafe {
            let mut p = self.dst.add(self.written);
            for _ in 0..pad {
                p.write(0);
                p = p.add(1);
            }
            match n {
                1 => p.write(len as u8),
                2 => ptr::write_unaligned(p.cast::<[u8; 2]>(), (len as u16).to_le_bytes()),
                4 => ptr::write_unaligned(p.cast::<[u8; 4]>(), (len as u32).to_le_bytes()),
                _ => ptr::write_unaligned(p.cast::<[u8; 8]>(), len.to_le_bytes()),
            }
            p = p.add(n);
            copy_short(bytes, p);
            if nul {
                p.add(bytes.len()).write(0);
            }
        }
        self.written += total;
    }
}

/// Copies `src` to `dst`, short runs with two overlapping fixed-size moves instead of a call.
///
/// # Safety
/// `dst` must be valid for `src.len()` bytes of writes and not overlap `src`.
#[inline(always)]
unsafe fn copy_short(src: &[u8], dst: *mut u8) {
    let n = src.len();
    let s = src.as_ptr();
    // SAFETY: reads stay within `src` (each branch reads `[0, 8)`/`[n - 8, n)` or
    // `[0, 4)`/`[n - 4, n)` of it), writes within `[dst, dst + n)`, per the contract.
    unsafe {
        if (8..=16).contains(&n) {
            let head = ptr::read_unaligned(s.cast::<[u8; 8]>());
            let tail = ptr::read_unaligned(s.add(n - 8).cast::<[u8; 8]>());
            ptr::write_unaligned(dst.cast::<[u8; 8]>(), head);
            ptr::write_unaligned(dst.add(n - 8).cast::<[u8; 8]>(), tail);
        } else if (4..8).contains(&n) {
            let head = ptr::read_unaligned(s.cast::<[u8; 4]>());
            let tail = ptr::read_unaligned(s.add(n - 4).cast::<[u8; 4]>());
            ptr::write_unaligned(dst.cast::<[u8; 4]>(), head);
            ptr::write_unaligned(dst.add(n - 4).cast::<[u8; 4]>(), tail);
        } else {
            ptr::copy_nonoverlapping(s, dst, n);
        }
    }
}

impl WriteCursor<'_> {
    /// Writes `prefix` and then `vals` (the first at address `first`) in `N`-byte slots,
    /// then the values' type bytes inside a parent of width `w`: the body of a map or an
    /// untyped vector. Checks once that the whole run fits (or writes nothing).
    #[inline(always)]
    pub(crate) fn value_run<const N: usize>(
        &mut self,
        prefix: &[u64],
        vals: &[Val],
        first: usize,
        w: u8,
    ) {
        // No overflow: a slice of 16-byte values has at most isize::MAX / 16 elements.
        let total = (prefix.len() + vals.len()) * N + vals.len();
        if N > 8 || !self.fits(total) {
            return;
        }
        // SAFETY: `fits(total)`: the loops write exactly `total` bytes from the current end,
        // all inside the reserved room (`N <= 8`, so each slot copies from 8 bytes).
        unsafe {
            let mut p = self.dst.add(self.written);
            for &x in prefix {
                ptr::copy_nonoverlapping(x.to_le_bytes().as_ptr(), p, N);
                p = p.add(N);
            }
            let mut at = first;
            for v in vals {
                ptr::copy_nonoverlapping(v.slot_bits(at).to_le_bytes().as_ptr(), p, N);
                p = p.add(N);
                at += N;
            }
            for v in vals {
                p.write(v.packed_type(w));
                p = p.add(1);
            }
        }
        self.written += total;
    }

    /// Writes a keys vector's length and then the offsets from each slot (the first at
    /// address `first`) back to its key, in `N`-byte slots. Checks once that the whole run
    /// fits (or writes nothing).
    #[inline(always)]
    pub(crate) fn key_run<const N: usize>(&mut self, keys: &[usize], first: usize) {
        // No overflow: a slice of 8-byte addresses has at most isize::MAX / 8 elements.
        let total = (keys.len() + 1) * N;
        if N > 8 || !self.fits(total) {
            return;
        }
        // SAFETY: as in `value_run`: exactly `total` bytes, inside the reserved room.
        unsafe {
            let mut p = self.dst.add(self.written);
            ptr::copy_nonoverlapping((keys.len() as u64).to_le_bytes().as_ptr(), p, N);
            p = p.add(N);
            let mut at = first;
            for &k in keys {
                let offset = at.wrapping_sub(k) as u64;
                ptr::copy_nonoverlapping(offset.to_le_bytes().as_ptr(), p, N);
                p = p.add(N);
                at += N;
            }
        }
        self.written += total;
    }
}

impl WriteCursor<'_> {
    /// Writes every byte of `data` zero-extended to 2 bytes (little-endian), checking once
    /// that it all fits (or writing nothing).
    #[inline(always)]
    pub(crate) fn widened_u16(&mut self, data: &[u8]) {
        widen!(self, data, u16);
    }

    /// Writes every byte of `data` zero-extended to 4 bytes (little-endian), checking once
    /// that it all fits (or writing nothing).
    #[inline(always)]
    pub(crate) fn widened_u32(&mut self, data: &[u8]) {
        widen!(self, data, u32);
    }

    /// Writes every byte of `data` zero-extended to 8 bytes (little-endian), checking once
    /// that it all fits (or writing nothing).
    #[inline(always)]
    pub(crate) fn widened_u64(&mut self, data: &[u8]) {
        widen!(self, data, u64);
    }
}

impl Drop for WriteCursor<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the `written` bytes from `start` were all initialized by the writes above,
        // contiguously, and `start + written <= capacity`.
        unsafe { self.buf.set_len(self.start + self.written) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_what_was_written_and_skips_what_does_not_fit() {
        let mut v = vec![9u8];
        {
            let mut f = WriteCursor::new(&mut v, 8);
            f.put::<2>(0x0102);
            f.byte(3);
            f.zeros(2);
            f.bytes(b"ab");
            assert_eq!(f.written, 7);
            assert_eq!(f.limit, 8);
            f.put::<2>(0xFFFF); // 9 > 8: skipped
            f.byte(4);
        }
        assert_eq!(v, [9, 2, 1, 3, 0, 0, b'a', b'b', 4]);
    }

    #[test]
    fn writes_value_and_key_runs() {
        let mut v = Vec::new();
        {
            let mut f = WriteCursor::new(&mut v, 12);
            let vals = [Val::uint(0x0102), Val::reference(5, 0, 0)];
            // Slots at 2 and 4: the reference's offset is 4 - 0.
            f.value_run::<2>(&[9], &vals, 2, 1);
            assert_eq!(f.written, 8);
            // Length 2 and offsets 10 - 3 and 11 - 4: 3 of the 4 bytes left.
            f.key_run::<1>(&[3, 4], 10);
            // 2 bytes do not fit in the 1 left: skipped.
            f.key_run::<1>(&[3], 12);
        }
        assert_eq!(v, [9, 0, 2, 1, 4, 0, (2 << 2) | 1, 5 << 2, 2, 7, 7]);
    }

    #[test]
    fn widens_every_length() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            let mut v = Vec::new();
            WriteCursor::new(&mut v, 2 * n).widened_u16(&src[..n]);
            let want: Vec<u8> = src[..n].iter().flat_map(|&b| [b, 0]).collect();
            assert_eq!(v, want, "length {n}");
            let mut v = Vec::new();
            WriteCursor::new(&mut v, 4 * n).widened_u32(&src[..n]);
            let want: Vec<u8> = src[..n].iter().flat_map(|&b| [b, 0, 0, 0]).collect();
            assert_eq!(v, want, "length {n}");
            let mut v = Vec::new();
            WriteCursor::new(&mut v, 8 * n).widened_u64(&src[..n]);
            let want: Vec<u8> = src[..n]
                .iter()
                .flat_map(|&b| [b, 0, 0, 0, 0, 0, 0, 0])
                .collect();
            assert_eq!(v, want, "length {n}");
        }
    }

    #[test]
    fn writes_padded_length_prefixed_runs() {
        let mut v = Vec::new();
        {
            let mut f = WriteCursor::new(&mut v, 12);
            f.sized(1, 1, b"abc", true);
            f.sized(0, 0, b"xy", false);
            f.sized(0, 0, b"too long", false); // 9 bytes, 2 left: skipped
        }
        assert_eq!(v, [0, 3, 0, b'a', b'b', b'c', 0, 2, b'x', b'y']);
    }

    #[test]
    fn copies_every_length() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            let mut v = Vec::new();
            WriteCursor::new(&mut v, n).bytes(&src[..n]);
            assert_eq!(v, &src[..n], "length {n}");
        }
    }
}
