//! [`ViewIter`]: iterates over the elements of a validated vector as views.

use crate::flex::{Slot, Vector};
use crate::view::parse::{column, inline_column, ColumnRun, StrRef};
use crate::view::Ctx;

/// An iterator over the elements of a vector in the input, each turned into a view (or a
/// `&str`). Knows its exact length.
#[derive(Debug, Clone)]
pub struct ViewIter<'a, T> {
    ctx: Ctx<'a>,
    src: Src<'a, T>,
    front: u32,
    back: u32,
}

/// Where the elements are.
#[derive(Debug, Clone)]
enum Src<'a, T> {
    /// A FlexBuffers vector, each element made into a `T`.
    Vector(Vector, fn(Ctx<'a>, Option<Slot>) -> T),
    /// A compact run of column names in the tables.
    Names(ColumnRun, fn(Ctx<'a>, StrRef) -> T),
    /// Compact column names inline in the event: where the next one (number `front`) lies.
    Inline(u32, fn(Ctx<'a>, StrRef) -> T),
}

impl<'a, T> ViewIter<'a, T> {
    pub(crate) fn new(ctx: Ctx<'a>, v: Vector, make: fn(Ctx<'a>, Option<Slot>) -> T) -> Self {
        Self {
            ctx,
            src: Src::Vector(v, make),
            front: 0,
            back: v.len,
        }
    }

    #[inline]
    fn at(&self, i: u32) -> Option<T> {
        match &self.src {
            Src::Vector(v, make) => Some(make(self.ctx, self.ctx.r.element(v, i as usize).ok())),
            Src::Names(run, make) => column(self.ctx.r.buf(), *run, i).map(|s| make(self.ctx, s)),
            Src::Inline(at, make) => {
                // Walk from the next one (never before it: `front` only grows).
                let buf = self.ctx.r.buf();
                let mut at = *at;
                for _ in self.front..i {
                    at = inline_column(buf, at)?.1;
                }
                inline_column(buf, at).map(|(s, _)| make(self.ctx, s))
            }
        }
    }
}

impl<T> ViewIter<'_, T> {
    /// Where the inline name after the next one lies (`None` unless the names are inline).
    #[inline]
    fn next_inline(&self) -> Option<u32> {
        match &self.src {
            Src::Inline(at, _) => inline_column(self.ctx.r.buf(), *at).map(|(_, next)| next),
            _ => None,
        }
    }
}

impl<'a> ViewIter<'a, &'a str> {
    /// The column names of a compact event.
    pub(crate) fn names(ctx: Ctx<'a>, run: ColumnRun) -> Self {
        let src = if run.base == 0 {
            Src::Inline(run.at, |ctx: Ctx<'a>, s| ctx.str_ref(s))
        } else {
            Src::Names(run, |ctx: Ctx<'a>, s| ctx.str_ref(s))
        };
        Self {
            ctx,
            src,
            front: 0,
            back: run.n,
        }
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
        let next = self.next_inline();
        if let (Src::Inline(at, _), Some(next)) = (&mut self.src, next) {
            *at = next;
        }
        self.front += 1;
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.back - self.front) as usize;
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<T> {
        if matches!(self.src, Src::Inline(..)) {
            // Inline names lie one after another: step over them.
            for _ in 0..n {
                self.next()?;
            }
            return self.next();
        }
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
        self.at(self.back)
    }
}

impl<T> ExactSizeIterator for ViewIter<'_, T> {}

impl<T> std::iter::FusedIterator for ViewIter<'_, T> {}
