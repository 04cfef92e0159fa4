//! The copy's work: which pieces of which tables, in which order.

use super::Sized;
use crate::commands::replicate::ranges::Range;

/// A piece of work: a whole table, or a range of its pages or of its key.
#[derive(Debug, Clone)]
pub(super) struct Work {
    pub(super) table: usize,
    pub(super) piece: Piece,
}

/// What of a table a piece of work copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    /// All of it.
    Whole,
    /// Pages `from..to` (`to` open for the last range).
    Pages(u64, Option<u64>),
    /// A range of its key.
    Keys(Range),
}
/// The work: whole tables, the ranges of the key of those that have them, and the ranges
/// of pages of the others larger than `split` bytes (not partitioned ones, whose pages
/// belong to their partitions), largest table first.
pub(super) fn plan(tables: &[Sized], split: u64, page: u64) -> Vec<Work> {
    let mut work = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        if let Some(ranges) = &t.ranges {
            work.extend(ranges.iter().map(|r| Work {
                table: i,
                piece: Piece::Keys(r.clone()),
            }));
            continue;
        }
        let pages = t.bytes / page.max(1);
        if t.table.partitioned || t.bytes <= split || pages < 2 {
            work.push(Work {
                table: i,
                piece: Piece::Whole,
            });
            continue;
        }
        let n = t.bytes.div_ceil(split).clamp(2, pages);
        let step = pages.div_ceil(n);
        let mut from = 0;
        while from < pages {
            let to = (from + step < pages).then_some(from + step);
            work.push(Work {
                table: i,
                piece: Piece::Pages(from, to),
            });
            from += step;
        }
    }
    // The largest table first, its ranges together: it is done soonest, and its keys and
    // indexes are made while the next tables are copied.
    work.sort_by_key(|w| std::cmp::Reverse(tables.get(w.table).map_or(0, |t| t.bytes)));
    work
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_source::catalog::Table;
    use scry_types::RelationMeta;

    fn sized(bytes: u64, partitioned: bool) -> Sized {
        Sized {
            table: Table {
                relation: RelationMeta::new(1, "public", "t", Vec::new()),
                partitioned,
            },
            bytes,
            after: Vec::new(),
            ranges: None,
        }
    }

    #[test]
    fn large_tables_split_into_page_ranges_that_cover_every_page() {
        let page = 8192;
        let tables = [
            sized(10 * page, false),
            sized(100 * page, false),
            sized(100 * page, true),
        ];
        let work = plan(&tables, 30 * page, page);
        // The small table and the partitioned one whole; the large one in 4 ranges.
        let ranges: Vec<_> = work
            .iter()
            .filter(|w| w.table == 1)
            .map(|w| w.piece.clone())
            .collect();
        assert_eq!(
            ranges,
            [
                Piece::Pages(0, Some(25)),
                Piece::Pages(25, Some(50)),
                Piece::Pages(50, Some(75)),
                Piece::Pages(75, None)
            ]
        );
        assert!(work.iter().any(|w| w.table == 0 && w.piece == Piece::Whole));
        assert!(work.iter().any(|w| w.table == 2 && w.piece == Piece::Whole));
        assert_eq!(work.len(), 6);
        // Largest table first (the ranges in order), the small table last.
        assert_eq!(work.first().map(|w| w.table), Some(1));
        assert_eq!(work.last().map(|w| w.table), Some(0));
    }
}
