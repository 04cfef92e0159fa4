//! Dates, times, timestamps and intervals, with PostgreSQL's ISO text output.
//!
//! PostgreSQL counts dates in days and timestamps in microseconds from 2000-01-01 (its
//! epoch), on the proleptic Gregorian calendar; `i32::MIN`/`i32::MAX` days and
//! `i64::MIN`/`i64::MAX` microseconds are `-infinity`/`infinity`.

use std::fmt::{self, Write as _};

use crate::error::DecodeProblem;
use crate::wire::{fixed, Cursor};

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Days from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_DAYS: i64 = 10_957;

/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year: 0 is 1 BC).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (astronomical year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Writes `YYYY-MM-DD` of a day count since 2000-01-01, returning whether it is BC.
fn write_ymd(out: &mut String, pg_days: i64) -> bool {
    let (year, month, day) = civil_from_days(pg_days + UNIX_TO_PG_DAYS);
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year };
    let _ = write!(out, "{shown:04}-{month:02}-{day:02}");
    bc
}

/// Writes `SS[.ffffff]` with trailing fraction zeros trimmed (PostgreSQL's `AppendSeconds`).
fn write_seconds(out: &mut String, sec: i64, fsec: i64) {
    let _ = write!(out, "{:02}", sec.unsigned_abs());
    if fsec != 0 {
        let frac = format!("{:06}", fsec.unsigned_abs());
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// Writes `HH:MM:SS[.ffffff]` of microseconds within a day.
fn write_time_of_day(out: &mut String, usecs: i64) {
    let hour = usecs / USECS_PER_HOUR;
    let minute = usecs % USECS_PER_HOUR / USECS_PER_MINUTE;
    let sec = usecs % USECS_PER_MINUTE / USECS_PER_SEC;
    let _ = write!(out, "{hour:02}:{minute:02}:");
    write_seconds(out, sec, usecs % USECS_PER_SEC);
}

/// A `date`: days since 2000-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PgDate(pub i32);

impl PgDate {
    /// `infinity`.
    pub const INFINITY: Self = Self(i32::MAX);
    /// `-infinity`.
    pub const NEG_INFINITY: Self = Self(i32::MIN);

    /// The date of an astronomical year (0 is 1 BC, -1 is 2 BC), month and day, or `None`
    /// when the day does not exist or lies outside PostgreSQL's range.
    #[must_use]
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year.into(), month) {
            return None;
        }
        let days = days_from_civil(year.into(), month, day) - UNIX_TO_PG_DAYS;
        i32::try_from(days)
            .ok()
            .filter(|d| *d != i32::MAX && *d != i32::MIN)
            .map(Self)
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        fixed::<4>(data).map(|b| Self(i32::from_be_bytes(b)))
    }
}

impl fmt::Display for PgDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::INFINITY => f.write_str("infinity"),
            Self::NEG_INFINITY => f.write_str("-infinity"),
            Self(days) => {
                let mut s = String::with_capacity(16);
                if write_ymd(&mut s, days.into()) {
                    s.push_str(" BC");
                }
                f.write_str(&s)
            }
        }
    }
}

/// A `timestamp` (or, in [`PgValue::TimestampTz`](crate::PgValue::TimestampTz), a
/// `timestamptz` in UTC): microseconds since 2000-01-01 00:00:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PgTimestamp(pub i64);

impl PgTimestamp {
    /// `infinity`.
    pub const INFINITY: Self = Self(i64::MAX);
    /// `-infinity`.
    pub const NEG_INFINITY: Self = Self(i64::MIN);

    /// The timestamp of a date and a time of day in microseconds (`0..86_400_000_000`), or
    /// `None` when the time is out of range or the sum overflows.
    #[must_use]
    pub fn from_date_time(date: PgDate, time_usecs: i64) -> Option<Self> {
        if !(0..USECS_PER_DAY).contains(&time_usecs) {
            return None;
        }
        i64::from(date.0)
            .checked_mul(USECS_PER_DAY)
            .and_then(|d| d.checked_add(time_usecs))
            .filter(|t| *t != i64::MAX && *t != i64::MIN)
            .map(Self)
    }

    /// Microseconds since the Unix epoch (1970-01-01), as a timestamp.
    #[must_use]
    pub fn from_unix_micros(usecs: i64) -> Option<Self> {
        usecs
            .checked_sub(UNIX_TO_PG_DAYS * USECS_PER_DAY)
            .filter(|t| *t != i64::MAX && *t != i64::MIN)
            .map(Self)
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        fixed::<8>(data).map(|b| Self(i64::from_be_bytes(b)))
    }

    /// Writes the ISO text, with `suffix` (a zone) before any ` BC`.
    pub(crate) fn render(self, suffix: &str) -> String {
        match self {
            Self::INFINITY => "infinity".to_owned(),
            Self::NEG_INFINITY => "-infinity".to_owned(),
            Self(usecs) => {
                let days = usecs.div_euclid(USECS_PER_DAY);
                let time = usecs.rem_euclid(USECS_PER_DAY);
                let mut s = String::with_capacity(40);
                let bc = write_ymd(&mut s, days);
                s.push(' ');
                write_time_of_day(&mut s, time);
                s.push_str(suffix);
                if bc {
                    s.push_str(" BC");
                }
                s
            }
        }
    }
}

impl fmt::Display for PgTimestamp {
    /// `timestamp` text: `2024-02-29 13:45:00.5`, `0044-03-15 00:00:00 BC`, `infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(""))
    }
}

/// A `time`: microseconds since midnight (`0..=86_400_000_000`; `24:00:00` is allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PgTime(pub i64);

impl PgTime {
    /// The time of an hour, minute, second and microsecond, or `None` when out of range.
    #[must_use]
    pub fn from_hms_micro(hour: u32, minute: u32, second: u32, micro: u32) -> Option<Self> {
        if minute > 59 || second > 59 || micro > 999_999 {
            return None;
        }
        let t = i64::from(hour) * USECS_PER_HOUR
            + i64::from(minute) * USECS_PER_MINUTE
            + i64::from(second) * USECS_PER_SEC
            + i64::from(micro);
        (t <= USECS_PER_DAY).then_some(Self(t))
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        fixed::<8>(data).map(|b| Self(i64::from_be_bytes(b)))
    }
}

impl fmt::Display for PgTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(16);
        write_time_of_day(&mut s, self.0);
        f.write_str(&s)
    }
}

/// A `timetz`: a time of day and its zone, in seconds *west* of UTC as PostgreSQL stores it
/// (`+05:30` is `-19800`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PgTimeTz {
    /// The time of day.
    pub time: PgTime,
    /// Seconds west of UTC.
    pub zone_west_secs: i32,
}

impl PgTimeTz {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time.0.to_be_bytes());
        out.extend_from_slice(&self.zone_west_secs.to_be_bytes());
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let b = fixed::<12>(data)?;
        let mut c = Cursor::new(&b);
        Ok(Self {
            time: PgTime(c.i64()?),
            zone_west_secs: c.i32()?,
        })
    }
}

impl fmt::Display for PgTimeTz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(24);
        write_time_of_day(&mut s, self.time.0);
        let tz = i64::from(self.zone_west_secs);
        let abs = tz.unsigned_abs();
        let (hour, minute, sec) = (abs / 3600, abs / 60 % 60, abs % 60);
        s.push(if tz <= 0 { '+' } else { '-' });
        if sec != 0 {
            let _ = write!(s, "{hour:02}:{minute:02}:{sec:02}");
        } else if minute != 0 {
            let _ = write!(s, "{hour:02}:{minute:02}");
        } else {
            let _ = write!(s, "{hour:02}");
        }
        f.write_str(&s)
    }
}

/// An `interval`: months, days and microseconds, kept apart as PostgreSQL keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PgInterval {
    /// Months (12 make a year).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl PgInterval {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.micros.to_be_bytes());
        out.extend_from_slice(&self.days.to_be_bytes());
        out.extend_from_slice(&self.months.to_be_bytes());
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let b = fixed::<16>(data)?;
        let mut c = Cursor::new(&b);
        let micros = c.i64()?;
        let days = c.i32()?;
        let months = c.i32()?;
        Ok(Self {
            months,
            days,
            micros,
        })
    }
}

/// One `N unit[s]` part of the postgres interval style (PostgreSQL's `AddPostgresIntPart`).
fn add_int_part(s: &mut String, value: i64, unit: &str, is_zero: &mut bool, is_before: &mut bool) {
    if value == 0 {
        return;
    }
    let _ = write!(
        s,
        "{}{}{value} {unit}{}",
        if *is_zero { "" } else { " " },
        if *is_before && value > 0 { "+" } else { "" },
        if value != 1 { "s" } else { "" },
    );
    *is_before = value < 0;
    *is_zero = false;
}

impl fmt::Display for PgInterval {
    /// IntervalStyle `postgres`: `1 year 2 mons 3 days 04:05:06.7`, `-00:00:01`, `00:00:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let months = i64::from(self.months);
        let (year, mon) = (months / 12, months % 12);
        let time = self.micros;
        let hour = time / USECS_PER_HOUR;
        let min = time % USECS_PER_HOUR / USECS_PER_MINUTE;
        let sec = time % USECS_PER_MINUTE / USECS_PER_SEC;
        let fsec = time % USECS_PER_SEC;
        let mut s = String::with_capacity(48);
        let (mut is_zero, mut is_before) = (true, false);
        add_int_part(&mut s, year, "year", &mut is_zero, &mut is_before);
        add_int_part(&mut s, mon, "mon", &mut is_zero, &mut is_before);
        add_int_part(
            &mut s,
            self.days.into(),
            "day",
            &mut is_zero,
            &mut is_before,
        );
        if is_zero || time != 0 {
            let minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
            let _ = write!(
                s,
                "{}{}{:02}:{:02}:",
                if is_zero { "" } else { " " },
                if minus {
                    "-"
                } else if is_before {
                    "+"
                } else {
                    ""
                },
                hour.unsigned_abs(),
                min.unsigned_abs(),
            );
            write_seconds(&mut s, sec, fsec);
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_render_iso_with_bc_and_infinity() {
        assert_eq!(PgDate(0).to_string(), "2000-01-01");
        assert_eq!(PgDate(-1).to_string(), "1999-12-31");
        assert_eq!(
            PgDate::from_ymd(2024, 2, 29).unwrap().to_string(),
            "2024-02-29"
        );
        assert_eq!(PgDate::from_ymd(2023, 2, 29), None);
        assert_eq!(
            PgDate::from_ymd(-43, 3, 15).unwrap().to_string(),
            "0044-03-15 BC"
        );
        assert_eq!(
            PgDate::from_ymd(0, 12, 31).unwrap().to_string(),
            "0001-12-31 BC"
        );
        assert_eq!(PgDate::from_ymd(1, 1, 1).unwrap().to_string(), "0001-01-01");
        assert_eq!(
            PgDate::from_ymd(-4713, 11, 24).unwrap().to_string(),
            "4714-11-24 BC"
        );
        assert_eq!(PgDate::INFINITY.to_string(), "infinity");
        assert_eq!(PgDate::NEG_INFINITY.to_string(), "-infinity");
    }

    #[test]
    fn timestamps_render_with_trimmed_fractions() {
        let d = PgDate::from_ymd(2024, 2, 29).unwrap();
        let t = PgTimestamp::from_date_time(d, 13 * USECS_PER_HOUR + 500_000).unwrap();
        assert_eq!(t.to_string(), "2024-02-29 13:00:00.5");
        assert_eq!(t.render("+00"), "2024-02-29 13:00:00.5+00");
        assert_eq!(PgTimestamp(-1).to_string(), "1999-12-31 23:59:59.999999");
        let bc = PgTimestamp::from_date_time(PgDate::from_ymd(-43, 3, 15).unwrap(), 0).unwrap();
        assert_eq!(bc.render("+00"), "0044-03-15 00:00:00+00 BC");
        assert_eq!(PgTimestamp::INFINITY.to_string(), "infinity");
        assert_eq!(PgTimestamp::NEG_INFINITY.render("+00"), "-infinity");
        assert_eq!(
            PgTimestamp::from_unix_micros(0).unwrap().to_string(),
            "1970-01-01 00:00:00"
        );
    }

    #[test]
    fn times_and_zones() {
        assert_eq!(PgTime(0).to_string(), "00:00:00");
        assert_eq!(PgTime(USECS_PER_DAY).to_string(), "24:00:00");
        assert_eq!(
            PgTime::from_hms_micro(4, 5, 6, 700_000)
                .unwrap()
                .to_string(),
            "04:05:06.7"
        );
        assert_eq!(PgTime::from_hms_micro(4, 60, 0, 0), None);
        let tz = |zone_west_secs| PgTimeTz {
            time: PgTime(USECS_PER_HOUR),
            zone_west_secs,
        };
        assert_eq!(tz(0).to_string(), "01:00:00+00");
        assert_eq!(tz(-19_800).to_string(), "01:00:00+05:30");
        assert_eq!(tz(3_600 * 8).to_string(), "01:00:00-08");
        assert_eq!(
            tz(-(3_600 * 15 + 59 * 60 + 1)).to_string(),
            "01:00:00+15:59:01"
        );
    }

    #[test]
    fn intervals_use_the_postgres_style() {
        let iv = |months, days, micros| {
            PgInterval {
                months,
                days,
                micros,
            }
            .to_string()
        };
        assert_eq!(
            iv(14, 3, 4 * USECS_PER_HOUR + 5 * USECS_PER_MINUTE + 6_700_000),
            "1 year 2 mons 3 days 04:05:06.7"
        );
        assert_eq!(iv(0, 0, 0), "00:00:00");
        assert_eq!(iv(1, 1, 0), "1 mon 1 day");
        assert_eq!(iv(-1, 0, 0), "-1 mons");
        assert_eq!(iv(0, -1, 1), "-1 days +00:00:00.000001");
        assert_eq!(
            iv(-13, 2, -USECS_PER_SEC),
            "-1 years -1 mons +2 days -00:00:01"
        );
        assert_eq!(iv(0, 0, 100 * USECS_PER_HOUR), "100:00:00");
        assert_eq!(
            iv(i32::MIN, i32::MIN, i64::MIN),
            "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808"
        );
    }

    #[test]
    fn fixed_lengths_are_checked() {
        assert_eq!(
            PgDate::decode(&[0, 0, 0]),
            Err(DecodeProblem::Length {
                expected: 4,
                actual: 3
            })
        );
        assert!(PgInterval::decode(&[0; 15]).is_err());
        assert!(PgTimeTz::decode(&[0; 13]).is_err());
    }
}
