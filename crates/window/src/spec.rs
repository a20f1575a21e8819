//! Rolling window specifications and their validation.

/// One rolling window: `width` wide, made of `bucket`-wide buckets aligned to the epoch.
///
/// With bucket index `i(x) = floor(unix_ms(x) / bucket)`, the window at stream
/// time `t` holds exactly the events `e` with `i(t) - width/bucket < i(e) <= i(t)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingSpec {
    /// Name used in outputs (`1h`, `24h`, `7d`, `30d`).
    pub name: String,
    /// Window width in milliseconds.
    pub width_ms: i64,
    /// Bucket width in milliseconds.
    pub bucket_ms: i64,
}

impl RollingSpec {
    /// Bucket index of a time.
    #[inline]
    pub fn index(&self, t_ms: i64) -> i64 {
        t_ms.div_euclid(self.bucket_ms)
    }

    /// Buckets in the window.
    pub fn buckets(&self) -> i64 {
        self.width_ms / self.bucket_ms
    }

    /// Whether an event at `e_ms` is inside the window at stream time `t_ms` (`e <= t`).
    #[inline]
    pub fn contains(&self, t_ms: i64, e_ms: i64) -> bool {
        self.index(e_ms) > self.index(t_ms) - self.buckets()
    }

    /// First instant inside the window at stream time `t_ms`.
    pub fn start(&self, t_ms: i64) -> i64 {
        (self.index(t_ms) - self.buckets() + 1) * self.bucket_ms
    }
}

/// A window configuration that cannot work, naming the window and the rule.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// A duration did not parse.
    #[error("window {name:?}: {value:?} is not a duration; expected a number and a unit s, m, h or d (e.g. \"15m\")")]
    BadDuration {
        /// The window.
        name: String,
        /// The text.
        value: String,
    },
    /// The bucket does not divide the window.
    #[error("window {name:?}: bucket {bucket} must divide the width {width} exactly")]
    NotDivisible {
        /// The window.
        name: String,
        /// Width text.
        width: String,
        /// Bucket text.
        bucket: String,
    },
    /// Windows must nest so that each event lives in one tier.
    #[error("windows {smaller:?} and {larger:?}: each window's bucket must be a multiple of the next smaller window's bucket, and the larger width must exceed the smaller by at least the difference of their buckets")]
    NotNested {
        /// The smaller window.
        smaller: String,
        /// The larger window.
        larger: String,
    },
    /// No window, or a duplicate name.
    #[error("rolling windows: {0}")]
    Invalid(String),
}

/// Parses `250ms`, `30s`, `15m`, `1h`, `7d` into milliseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().ok().filter(|n: &i64| *n > 0);
    }
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = num.parse().ok().filter(|n| *n > 0)?;
    let mult = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// The validated, ordered set of rolling windows (narrowest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingSpecs(Vec<RollingSpec>);

impl RollingSpecs {
    /// Validates `(name, width, bucket)` triples such as `("24h", "24h", "15m")`.
    pub fn new<S: AsRef<str>>(windows: &[(S, S, S)]) -> Result<Self, SpecError> {
        if windows.is_empty() {
            return Err(SpecError::Invalid("at least one window is required".into()));
        }
        let mut specs = Vec::new();
        for (name, width, bucket) in windows {
            let (name, width, bucket) = (name.as_ref(), width.as_ref(), bucket.as_ref());
            let bad = |v: &str| SpecError::BadDuration {
                name: name.into(),
                value: v.into(),
            };
            let w = parse_duration(width).ok_or_else(|| bad(width))?;
            let b = parse_duration(bucket).ok_or_else(|| bad(bucket))?;
            if w % b != 0 {
                return Err(SpecError::NotDivisible {
                    name: name.into(),
                    width: width.into(),
                    bucket: bucket.into(),
                });
            }
            if specs.iter().any(|s: &RollingSpec| s.name == name) {
                return Err(SpecError::Invalid(format!(
                    "window name {name:?} appears twice"
                )));
            }
            specs.push(RollingSpec {
                name: name.into(),
                width_ms: w,
                bucket_ms: b,
            });
        }
        specs.sort_by_key(|s| s.width_ms);
        for pair in specs.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if b.bucket_ms % a.bucket_ms != 0
                || b.width_ms - a.width_ms < b.bucket_ms - a.bucket_ms
                || a.width_ms == b.width_ms
            {
                return Err(SpecError::NotNested {
                    smaller: a.name.clone(),
                    larger: b.name.clone(),
                });
            }
        }
        Ok(RollingSpecs(specs))
    }

    /// The defaults: 1h/1m, 24h/15m, 7d/1h, 30d/6h.
    pub fn defaults() -> Self {
        Self::new(&[
            ("1h", "1h", "1m"),
            ("24h", "24h", "15m"),
            ("7d", "7d", "1h"),
            ("30d", "30d", "6h"),
        ])
        .expect("default windows are valid")
    }

    /// The windows, narrowest first.
    pub fn specs(&self) -> &[RollingSpec] {
        &self.0
    }

    /// The widest window.
    pub fn widest(&self) -> &RollingSpec {
        &self.0[self.0.len() - 1]
    }

    /// Position of a window by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert!(RollingSpecs::new(&[("x", "1h", "7m")]).is_err());
        assert!(RollingSpecs::new(&[("a", "1h", "10m"), ("b", "2h", "15m")]).is_err());
        assert!(RollingSpecs::new(&[("a", "1h", "1m"), ("b", "2h", "1h")]).is_ok());
        assert!(RollingSpecs::new(&[("a", "1h", "1m"), ("b", "1h", "1h")]).is_err());
        assert_eq!(parse_duration("15m"), Some(900_000));
        assert_eq!(parse_duration("0m"), None);
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(RollingSpecs::defaults().specs().len(), 4);
    }

    #[test]
    fn window_edges() {
        let s = RollingSpec {
            name: "1h".into(),
            width_ms: 3_600_000,
            bucket_ms: 60_000,
        };
        let t = 10 * 3_600_000 + 30_000; // 10:00:30
        assert!(s.contains(t, 9 * 3_600_000 + 60_000)); // 09:01:00 is the first bucket in
        assert!(!s.contains(t, 9 * 3_600_000 + 59_999)); // 09:00:59.999 is out
        assert_eq!(s.start(t), 9 * 3_600_000 + 60_000);
    }
}
