//! [`Frame`]: appends a run of bytes to a `Vec<u8>` through a local cursor.
//!
//! Every item the writer stores (a string, a vector, a map) is a short run of small writes.
//! Going through `Vec::push`/`extend_from_slice` reloads and stores the vector's length and
//! checks its capacity on every write; a frame reserves the whole run once, writes through a
//! cursor held in registers, and sets the length once at the end.
//!
//! Soundness: the frame owns `&mut Vec<u8>` for its lifetime, writes only below
//! `start + limit` where `limit` bytes were reserved (every write checks this, and a write
//! that would not fit is skipped and recorded), and on drop sets the length to `start +
//! written`, where `written` counts bytes that were all initialized by writes, contiguously
//! from `start`.

use std::ptr;

/// A run of bytes being appended to a vector.
pub(crate) struct Frame<'a> {
    buf: &'a mut Vec<u8>,
    /// The vector's length when the frame started.
    start: usize,
    /// Bytes written so far, all initialized, from `start` on.
    written: usize,
    /// Bytes reserved: `buf.capacity() >= start + limit`.
    limit: usize,
}

impl<'a> Frame<'a> {
    /// Starts a frame of up to `limit` bytes at the end of `buf`.
    #[inline(always)]
    pub(crate) fn new(buf: &'a mut Vec<u8>, limit: usize) -> Self {
        buf.reserve(limit);
        let start = buf.len();
        Frame {
            buf,
            start,
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
                // SAFETY: `start + written + N <= start + limit <= capacity`, so the N bytes
                // written are inside the vector's allocation; `[u8; N]` has alignment 1.
                unsafe {
                    let dst = self.buf.as_mut_ptr().add(self.start + self.written);
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
        // SAFETY (all three branches): the destination range `[dst, dst + n)` lies inside
        // the reserved room (`fits(n)`), every branch writes all of it, and `bytes` cannot
        // overlap it (the room is beyond the vector's length, where no shared borrow can
        // point). Short runs use two overlapping fixed-size moves instead of a call.
        unsafe {
            let dst = self.buf.as_mut_ptr().add(self.start + self.written);
            let src = bytes.as_ptr();
            if (8..=16).contains(&n) {
                let head = ptr::read_unaligned(src.cast::<[u8; 8]>());
                let tail = ptr::read_unaligned(src.add(n - 8).cast::<[u8; 8]>());
                ptr::write_unaligned(dst.cast::<[u8; 8]>(), head);
                ptr::write_unaligned(dst.add(n - 8).cast::<[u8; 8]>(), tail);
            } else if (4..8).contains(&n) {
                let head = ptr::read_unaligned(src.cast::<[u8; 4]>());
                let tail = ptr::read_unaligned(src.add(n - 4).cast::<[u8; 4]>());
                ptr::write_unaligned(dst.cast::<[u8; 4]>(), head);
                ptr::write_unaligned(dst.add(n - 4).cast::<[u8; 4]>(), tail);
            } else {
                ptr::copy_nonoverlapping(src, dst, n);
            }
        }
        self.written += n;
    }
}

impl Drop for Frame<'_> {
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
            let mut f = Frame::new(&mut v, 8);
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
    fn copies_every_length() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            let mut v = Vec::new();
            Frame::new(&mut v, n).bytes(&src[..n]);
            assert_eq!(v, &src[..n], "length {n}");
        }
    }
}
