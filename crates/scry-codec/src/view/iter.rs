//! [`ViewIter`]: iterates over the elements of a validated vector as views.

use crate::flex::{Slot, Vector};
use crate::view::Ctx;

/// An iterator over the elements of a vector in the input, each turned into a view (or a
/// `&str`). Knows its exact length.
#[derive(Debug, Clone)]
pub struct ViewIter<'a, T> {
    ctx: Ctx<'a>,
    v: Vector,
    front: u32,
    back: u32,
    make: fn(Ctx<'a>, Option<Slot>) -> T,
}

impl<'a, T> ViewIter<'a, T> {
    pub(crate) fn new(ctx: Ctx<'a>, v: Vector, make: fn(Ctx<'a>, Option<Slot>) -> T) -> Self {
        Self {
            ctx,
            v,
            front: 0,
            back: v.len,
            make,
        }
    }

    #[inline]
    fn at(&self, i: u32) -> T {
        (self.make)(self.ctx, self.ctx.r.element(&self.v, i as usize).ok())
    }
}

impl<T> Iterator for ViewIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.front >= self.back {
            return None;
        }
        let item = self.at(self.front);
        self.front += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.back - self.front) as usize;
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<T> {
        let skip = u32::try_from(n).unwrap_or(u32::MAX);
        self.front = self.front.saturating_add(skip).min(self.back);
        self.next()
    }
}

impl<T> DoubleEndedIterator for ViewIter<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        Some(self.at(self.back))
    }
}

impl<T> ExactSizeIterator for ViewIter<'_, T> {}

impl<T> std::iter::FusedIterator for ViewIter<'_, T> {}
