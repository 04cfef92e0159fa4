//! [`PgArray`]: arrays of one or more dimensions, with NULL elements.

use crate::error::{DecodeProblem, PgDecodeError};
use crate::oid;
use crate::text::push_array_element;
use crate::value::PgValue;
use crate::wire::{len_i32, Cursor};

/// PostgreSQL's limit on array dimensions (`MAXDIM`).
pub const MAX_DIMENSIONS: usize = 6;

/// One dimension of an array: its length and the index of its first element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayDim {
    /// The number of elements along this dimension.
    pub len: i32,
    /// The index of the first element (1 unless the array says otherwise).
    pub lower_bound: i32,
}

/// An array value: its type, its element type, its dimensions and its elements in row-major
/// order ([`PgValue::Null`] for NULL elements). An empty array has no dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct PgArray {
    /// The array type's OID (`1007` for `int4[]`).
    pub oid: u32,
    /// The element type's OID (`23`).
    pub element_oid: u32,
    /// The dimensions, outermost first.
    pub dims: Vec<ArrayDim>,
    /// The elements, row-major.
    pub elements: Vec<PgValue>,
}

/// The dimensions of an array do not fit its elements, or its element type has no known
/// array type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArrayShapeError {
    /// The element type has no built-in array type.
    #[error("element type OID {0} has no built-in array type")]
    NoArrayType(u32),
    /// The product of the dimension lengths differs from the element count.
    #[error("dimensions hold {expected} elements, {actual} given")]
    Count {
        /// The product of the dimension lengths.
        expected: usize,
        /// The number of elements.
        actual: usize,
    },
    /// More than [`MAX_DIMENSIONS`] dimensions, or a negative length.
    #[error("invalid dimensions: {0:?}")]
    Dims(Vec<ArrayDim>),
}

fn element_count(dims: &[ArrayDim]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, d| {
        usize::try_from(d.len).ok().and_then(|l| acc.checked_mul(l))
    })
}

impl PgArray {
    /// A one-dimensional array (lower bound 1) of `elements` of type `element_oid`; an empty
    /// `elements` gives the empty array `{}`.
    pub fn from_elements(
        element_oid: u32,
        elements: Vec<PgValue>,
    ) -> Result<Self, ArrayShapeError> {
        let dims = if elements.is_empty() {
            Vec::new()
        } else {
            vec![ArrayDim {
                len: len_i32(elements.len()),
                lower_bound: 1,
            }]
        };
        Self::new(element_oid, dims, elements)
    }

    /// An array of `element_oid` with these dimensions; the elements are row-major.
    pub fn new(
        element_oid: u32,
        dims: Vec<ArrayDim>,
        elements: Vec<PgValue>,
    ) -> Result<Self, ArrayShapeError> {
        let oid =
            oid::array_oid_of(element_oid).ok_or(ArrayShapeError::NoArrayType(element_oid))?;
        if dims.len() > MAX_DIMENSIONS || dims.iter().any(|d| d.len < 0) {
            return Err(ArrayShapeError::Dims(dims));
        }
        let expected = if dims.is_empty() {
            0
        } else {
            element_count(&dims).ok_or_else(|| ArrayShapeError::Dims(dims.clone()))?
        };
        if expected != elements.len() {
            return Err(ArrayShapeError::Count {
                expected,
                actual: elements.len(),
            });
        }
        Ok(Self {
            oid,
            element_oid,
            dims,
            elements,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let has_null = self.elements.iter().any(|e| matches!(e, PgValue::Null));
        out.extend_from_slice(&len_i32(self.dims.len()).to_be_bytes());
        out.extend_from_slice(&i32::from(has_null).to_be_bytes());
        out.extend_from_slice(&self.element_oid.to_be_bytes());
        for d in &self.dims {
            out.extend_from_slice(&d.len.to_be_bytes());
            out.extend_from_slice(&d.lower_bound.to_be_bytes());
        }
        for e in &self.elements {
            match e.to_binary() {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(bytes) => {
                    out.extend_from_slice(&len_i32(bytes.len()).to_be_bytes());
                    out.extend_from_slice(&bytes);
                }
            }
        }
    }

    pub(crate) fn decode(oid: u32, data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let ndim = c.i32()?;
        let ndim_usize = usize::try_from(ndim)
            .ok()
            .filter(|&n| n <= MAX_DIMENSIONS)
            .ok_or(DecodeProblem::Invalid {
                field: "array dimension count",
                value: ndim.into(),
            })?;
        let flags = c.i32()?;
        if flags != 0 && flags != 1 {
            return Err(DecodeProblem::Invalid {
                field: "array flags",
                value: flags.into(),
            });
        }
        let element_oid = c.u32()?;
        if oid::array_element_oid(oid).is_some_and(|e| e != element_oid)
            || oid::array_element_oid(element_oid).is_some()
        {
            return Err(DecodeProblem::Invalid {
                field: "array element type OID",
                value: element_oid.into(),
            });
        }
        let mut dims = Vec::with_capacity(ndim_usize);
        for _ in 0..ndim_usize {
            let len = c.i32()?;
            let lower_bound = c.i32()?;
            if len < 0 || lower_bound.checked_add(len).is_none() {
                return Err(DecodeProblem::Invalid {
                    field: "array dimension length",
                    value: len.into(),
                });
            }
            dims.push(ArrayDim { len, lower_bound });
        }
        let count = if dims.is_empty() {
            0
        } else {
            element_count(&dims).ok_or(DecodeProblem::Invalid {
                field: "array element count",
                value: i64::MAX,
            })?
        };
        // Every element takes at least its 4-byte length word.
        if count > c.remaining() / 4 {
            return Err(DecodeProblem::Invalid {
                field: "array element count",
                value: i64::try_from(count).unwrap_or(i64::MAX),
            });
        }
        let mut elements = Vec::with_capacity(count);
        for index in 0..count {
            let n = c.i32()?;
            if n == -1 {
                elements.push(PgValue::Null);
                continue;
            }
            let len = usize::try_from(n).map_err(|_| DecodeProblem::Invalid {
                field: "array element length",
                value: n.into(),
            })?;
            let bytes = c.take(len)?;
            let value = crate::value::decode(element_oid, bytes).map_err(|e: PgDecodeError| {
                DecodeProblem::Element {
                    index,
                    source: Box::new(e),
                }
            })?;
            elements.push(value);
        }
        c.finish()?;
        Ok(Self {
            oid,
            element_oid,
            dims,
            elements,
        })
    }

    /// `array_out`: `{1,NULL,"a b"}`, `{{1,2},{3,4}}`, `[0:1]={1,2}`, `{}`; `;` separates
    /// `box` elements. `None` when an element has no text form.
    pub(crate) fn render(&self) -> Option<String> {
        if self.dims.is_empty() || self.elements.is_empty() {
            return Some("{}".to_owned());
        }
        let delimiter = if self.element_oid == oid::BOX {
            ';'
        } else {
            ','
        };
        let mut s = String::with_capacity(self.elements.len() * 8 + 2);
        if self.dims.iter().any(|d| d.lower_bound != 1) {
            for d in &self.dims {
                let upper = i64::from(d.lower_bound) + i64::from(d.len) - 1;
                s.push_str(&format!("[{}:{}]", d.lower_bound, upper));
            }
            s.push('=');
        }
        let lens: Vec<usize> = self
            .dims
            .iter()
            .map(|d| usize::try_from(d.len).unwrap_or_default())
            .collect();
        let mut texts = Vec::with_capacity(self.elements.len());
        for e in &self.elements {
            texts.push(match e {
                PgValue::Null => None,
                other => Some(other.to_text()?),
            });
        }
        let mut next = 0usize;
        render_dim(&mut s, &lens, &texts, &mut next, delimiter);
        Some(s)
    }
}

fn render_dim(
    s: &mut String,
    lens: &[usize],
    texts: &[Option<String>],
    next: &mut usize,
    delimiter: char,
) {
    let Some((&len, inner)) = lens.split_first() else {
        return;
    };
    s.push('{');
    for i in 0..len {
        if i > 0 {
            s.push(delimiter);
        }
        if inner.is_empty() {
            match texts.get(*next) {
                Some(Some(t)) => push_array_element(s, t, delimiter),
                _ => s.push_str("NULL"),
            }
            *next += 1;
        } else {
            render_dim(s, inner, texts, next, delimiter);
        }
    }
    s.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> PgValue {
        PgValue::Text(s.to_owned())
    }

    #[test]
    fn one_dimension_with_nulls_and_quoting() {
        let a = PgArray::from_elements(
            oid::TEXT,
            vec![
                text("1"),
                PgValue::Null,
                text("a b"),
                text(""),
                text("NULL"),
            ],
        )
        .unwrap();
        assert_eq!(a.oid, oid::TEXT_ARRAY);
        assert_eq!(a.render().as_deref(), Some(r#"{1,NULL,"a b","","NULL"}"#));
        let mut out = Vec::new();
        a.encode(&mut out);
        assert_eq!(
            &out[..20],
            [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 25, 0, 0, 0, 5, 0, 0, 0, 1]
        );
        assert_eq!(PgArray::decode(oid::TEXT_ARRAY, &out), Ok(a));
    }

    #[test]
    fn dimensions_bounds_and_empty() {
        let ints = (1..=4).map(PgValue::Int4).collect();
        let dims = vec![
            ArrayDim {
                len: 2,
                lower_bound: 1,
            },
            ArrayDim {
                len: 2,
                lower_bound: 1,
            },
        ];
        let a = PgArray::new(oid::INT4, dims, ints).unwrap();
        assert_eq!(a.render().as_deref(), Some("{{1,2},{3,4}}"));
        let b = PgArray::new(
            oid::INT4,
            vec![ArrayDim {
                len: 2,
                lower_bound: 0,
            }],
            vec![PgValue::Int4(1), PgValue::Int4(2)],
        )
        .unwrap();
        assert_eq!(b.render().as_deref(), Some("[0:1]={1,2}"));
        let empty = PgArray::from_elements(oid::INT4, vec![]).unwrap();
        assert_eq!(empty.render().as_deref(), Some("{}"));
        let mut out = Vec::new();
        empty.encode(&mut out);
        assert_eq!(out, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23]);
        assert_eq!(
            PgArray::new(
                oid::INT4,
                vec![ArrayDim {
                    len: 3,
                    lower_bound: 1
                }],
                vec![]
            ),
            Err(ArrayShapeError::Count {
                expected: 3,
                actual: 0
            })
        );
        assert_eq!(
            PgArray::from_elements(99_999, vec![]),
            Err(ArrayShapeError::NoArrayType(99_999))
        );
    }

    #[test]
    fn malformed_arrays_are_errors() {
        let header = |ndim: i32, flags: i32, elem: u32| {
            let mut v = Vec::new();
            v.extend_from_slice(&ndim.to_be_bytes());
            v.extend_from_slice(&flags.to_be_bytes());
            v.extend_from_slice(&elem.to_be_bytes());
            v
        };
        assert_eq!(
            PgArray::decode(oid::INT4_ARRAY, &header(7, 0, 23)),
            Err(DecodeProblem::Invalid {
                field: "array dimension count",
                value: 7
            })
        );
        assert_eq!(
            PgArray::decode(oid::INT4_ARRAY, &header(0, 0, 25)),
            Err(DecodeProblem::Invalid {
                field: "array element type OID",
                value: 25
            })
        );
        let mut huge = header(1, 0, 23);
        huge.extend_from_slice(&i32::MAX.to_be_bytes());
        huge.extend_from_slice(&0i32.to_be_bytes());
        assert!(matches!(
            PgArray::decode(oid::INT4_ARRAY, &huge),
            Err(DecodeProblem::Invalid {
                field: "array element count",
                ..
            })
        ));
        let mut bad_elem = header(1, 0, 23);
        bad_elem.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1]);
        assert_eq!(
            PgArray::decode(oid::INT4_ARRAY, &bad_elem)
                .unwrap_err()
                .to_string(),
            "array element 0: cannot decode int4 (OID 23): expected 4 bytes, got 2"
        );
    }
}
