//! Geometric types: `point`, `line`, `lseg`, `box`, `path`, `polygon`, `circle`.
//!
//! Coordinates are `float8`s and render like `float8` (shortest round-trip digits).

use std::fmt;

use crate::error::DecodeProblem;
use crate::text::float8_text;
use crate::wire::Cursor;

/// A `point`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
}

/// A `line`: `a·x + b·y + c = 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// a.
    pub a: f64,
    /// b.
    pub b: f64,
    /// c.
    pub c: f64,
}

/// An `lseg`: a line segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lseg {
    /// The first end.
    pub start: Point,
    /// The second end.
    pub end: Point,
}

/// A `box`, stored (and sent) upper-right corner first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PgBox {
    /// The upper-right corner.
    pub high: Point,
    /// The lower-left corner.
    pub low: Point,
}

/// A `path`: open (`[...]`) or closed (`(...)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// True for a closed path.
    pub closed: bool,
    /// The points.
    pub points: Vec<Point>,
}

/// A `polygon`.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    /// The vertices.
    pub points: Vec<Point>,
}

/// A `circle`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    /// The center.
    pub center: Point,
    /// The radius.
    pub radius: f64,
}

fn put(out: &mut Vec<u8>, values: &[f64]) {
    for v in values {
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn read_point(c: &mut Cursor<'_>) -> Result<Point, DecodeProblem> {
    Ok(Point {
        x: c.f64()?,
        y: c.f64()?,
    })
}

fn read_points(c: &mut Cursor<'_>) -> Result<Vec<Point>, DecodeProblem> {
    let n = c.i32()?;
    let count = usize::try_from(n)
        .ok()
        .filter(|&n| n.checked_mul(16).is_some_and(|b| b <= c.remaining()))
        .ok_or(DecodeProblem::Invalid {
            field: "point count",
            value: n.into(),
        })?;
    (0..count).map(|_| read_point(c)).collect()
}

fn write_points(out: &mut Vec<u8>, points: &[Point]) {
    out.extend_from_slice(&crate::wire::len_i32(points.len()).to_be_bytes());
    for p in points {
        put(out, &[p.x, p.y]);
    }
}

fn join_points(points: &[Point]) -> String {
    points
        .iter()
        .map(Point::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl Point {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put(out, &[self.x, self.y]);
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let p = read_point(&mut c)?;
        c.finish()?;
        Ok(p)
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", float8_text(self.x), float8_text(self.y))
    }
}

impl Line {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put(out, &[self.a, self.b, self.c]);
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let l = Self {
            a: c.f64()?,
            b: c.f64()?,
            c: c.f64()?,
        };
        c.finish()?;
        Ok(l)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{{},{},{}}}",
            float8_text(self.a),
            float8_text(self.b),
            float8_text(self.c)
        )
    }
}

impl Lseg {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put(out, &[self.start.x, self.start.y, self.end.x, self.end.y]);
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let l = Self {
            start: read_point(&mut c)?,
            end: read_point(&mut c)?,
        };
        c.finish()?;
        Ok(l)
    }
}

impl fmt::Display for Lseg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{},{}]", self.start, self.end)
    }
}

impl PgBox {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put(out, &[self.high.x, self.high.y, self.low.x, self.low.y]);
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let b = Self {
            high: read_point(&mut c)?,
            low: read_point(&mut c)?,
        };
        c.finish()?;
        Ok(b)
    }
}

impl fmt::Display for PgBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.high, self.low)
    }
}

impl Path {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.closed));
        write_points(out, &self.points);
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let closed = match c.u8()? {
            0 => false,
            1 => true,
            other => {
                return Err(DecodeProblem::Invalid {
                    field: "path closed flag",
                    value: other.into(),
                })
            }
        };
        let points = read_points(&mut c)?;
        c.finish()?;
        Ok(Self { closed, points })
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (open, close) = if self.closed { ('(', ')') } else { ('[', ']') };
        write!(f, "{open}{}{close}", join_points(&self.points))
    }
}

impl Polygon {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        write_points(out, &self.points);
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let points = read_points(&mut c)?;
        c.finish()?;
        Ok(Self { points })
    }
}

impl fmt::Display for Polygon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({})", join_points(&self.points))
    }
}

impl Circle {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put(out, &[self.center.x, self.center.y, self.radius]);
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let v = Self {
            center: read_point(&mut c)?,
            radius: c.f64()?,
        };
        c.finish()?;
        Ok(v)
    }
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{},{}>", self.center, float8_text(self.radius))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Point = Point { x: 1.5, y: -2.0 };
    const Q: Point = Point { x: 0.0, y: 1e20 };

    #[test]
    fn text_forms() {
        assert_eq!(P.to_string(), "(1.5,-2)");
        assert_eq!(
            Line {
                a: 1.0,
                b: -1.0,
                c: 0.5
            }
            .to_string(),
            "{1,-1,0.5}"
        );
        assert_eq!(
            Lseg { start: P, end: Q }.to_string(),
            "[(1.5,-2),(0,1e+20)]"
        );
        assert_eq!(PgBox { high: Q, low: P }.to_string(), "(0,1e+20),(1.5,-2)");
        let path = Path {
            closed: false,
            points: vec![P, Q],
        };
        assert_eq!(path.to_string(), "[(1.5,-2),(0,1e+20)]");
        let closed = Path {
            closed: true,
            ..path
        };
        assert_eq!(closed.to_string(), "((1.5,-2),(0,1e+20))");
        assert_eq!(Polygon { points: vec![P] }.to_string(), "((1.5,-2))");
        assert_eq!(
            Circle {
                center: P,
                radius: 3.0
            }
            .to_string(),
            "<(1.5,-2),3>"
        );
    }

    #[test]
    fn binary_round_trips_and_rejects_bad_counts() {
        let path = Path {
            closed: true,
            points: vec![P, Q],
        };
        let mut out = Vec::new();
        path.encode(&mut out);
        assert_eq!(out.len(), 1 + 4 + 32);
        assert_eq!(Path::decode(&out), Ok(path));
        assert_eq!(
            Polygon::decode(&[0x7f, 0xff, 0xff, 0xff]),
            Err(DecodeProblem::Invalid {
                field: "point count",
                value: i64::from(i32::MAX)
            })
        );
        assert_eq!(
            Path::decode(&[2, 0, 0, 0, 0]),
            Err(DecodeProblem::Invalid {
                field: "path closed flag",
                value: 2
            })
        );
        assert_eq!(
            Point::decode(&[0; 17]),
            Err(DecodeProblem::Trailing { count: 1 })
        );
    }
}
