//! Numbers in output records: counts stay integers, money is an exact
//! decimal string in the reporting currency, ratios are numbers rounded to
//! six decimals (docs/records.md).

use serde::de::{Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// A number in an output record. Equality is by value: a count and a real
/// of the same value are equal (JSON writes both as `2`, and reading back
/// gives a count), an amount equals only an amount.
#[derive(Debug, Clone, Copy)]
pub enum Num {
    /// A count.
    Int(i64),
    /// An amount in the reporting currency, exact.
    Amount(Amount),
    /// A ratio or another real (rounded to six decimals).
    Real(f64),
}

/// An amount in the reporting currency: `minor` units of `10^-exp`
/// (`Amount { minor: 123450, exp: 2 }` is 1234.50), written as the decimal
/// string `"1234.50"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    /// The amount in minor units.
    pub minor: i64,
    /// Decimals of the minor unit.
    pub exp: u8,
}

impl Amount {
    /// The amount as f64 (for display and means, never for sums that pay).
    pub fn as_f64(self) -> f64 {
        self.minor as f64 / 10f64.powi(i32::from(self.exp))
    }

    /// `self - other`, exact when both have the same minor unit.
    pub fn minus(self, other: Amount) -> Option<Amount> {
        (self.exp == other.exp).then(|| Amount {
            minor: self.minor.saturating_sub(other.minor),
            exp: self.exp,
        })
    }

    /// Reads a decimal string such as `"-12.50"`.
    pub fn parse(s: &str) -> Option<Amount> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((_, "")) => return None,
            Some(parts) => parts,
            None => (digits, ""),
        };
        let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) || frac.len() > 18 {
            return None;
        }
        let minor: i64 = format!("{int}{frac}").parse().ok()?;
        Some(Amount {
            minor: if neg { -minor } else { minor },
            exp: u8::try_from(frac.len()).ok()?,
        })
    }
}

/// Room for any amount's decimal string: a sign, the 20 digits of an
/// i64, a point and `u8::MAX` decimals.
const AMOUNT_CHARS: usize = 1 + 20 + 1 + u8::MAX as usize;

impl Amount {
    /// The decimal string, written from the right into `buf` (records
    /// carry many amounts, and `core::fmt` costs several times this).
    fn encode(self, buf: &mut [u8; AMOUNT_CHARS]) -> &str {
        let (mut at, mut abs) = (buf.len(), self.minor.unsigned_abs());
        let exp = usize::from(self.exp);
        // The decimals, then at least one integer digit (`written` counts
        // past `u8::MAX` when every decimal of the widest amount is written).
        for written in 0usize.. {
            if written == exp && exp > 0 {
                at -= 1;
                buf[at] = b'.';
            }
            at -= 1;
            buf[at] = b'0' + (abs % 10) as u8;
            abs /= 10;
            if written >= exp && abs == 0 {
                break;
            }
        }
        if self.minor < 0 {
            at -= 1;
            buf[at] = b'-';
        }
        // Only ASCII digits, '.' and '-' were written.
        std::str::from_utf8(&buf[at..]).unwrap_or_default()
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.encode(&mut [0; AMOUNT_CHARS]))
    }
}

impl PartialEq for Num {
    fn eq(&self, other: &Num) -> bool {
        match (self, other) {
            (Num::Amount(a), Num::Amount(b)) => a == b,
            (Num::Amount(_), _) | (_, Num::Amount(_)) => false,
            (Num::Int(a), Num::Int(b)) => a == b,
            (a, b) => a.as_f64() == b.as_f64(),
        }
    }
}

impl Num {
    /// The value as f64.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Amount(m) => m.as_f64(),
            Num::Real(r) => r,
        }
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A binary format (the changelog's postcard) holds only an alert's
        // facts, which the engine keeps as reals until it writes the alert
        // out: the f64, as before facts were `Num`, so changelog records
        // written by earlier builds still read.
        if !s.is_human_readable() {
            return s.serialize_f64(self.as_f64());
        }
        match self {
            Num::Int(i) => s.serialize_i64(*i),
            Num::Amount(m) => s.serialize_str(m.encode(&mut [0; AMOUNT_CHARS])),
            Num::Real(r) => real(r, s),
        }
    }
}

/// Writes a real, a whole one without its `.0` (`1`, not `1.0`: JSON has
/// one number type, and a score record has dozens of whole attainments,
/// weights and targets; docs/records.md).
pub fn real<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    // Below 2^53 every whole f64 is exactly an i64.
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        s.serialize_i64(*x as i64)
    } else {
        s.serialize_f64(*x)
    }
}

/// [`real`] for an optional real (`None` as null).
pub fn opt_real<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => real(x, s),
        None => s.serialize_none(),
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if !d.is_human_readable() {
            return f64::deserialize(d).map(Num::Real);
        }
        struct NumVisitor;
        impl Visitor<'_> for NumVisitor {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number or a decimal string")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Num, E> {
                i64::try_from(v)
                    .map(Num::Int)
                    .map_err(|_| E::custom(format!("count {v} is out of range")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num::Real(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Num, E> {
                Amount::parse(v)
                    .map(Num::Amount)
                    .ok_or_else(|| E::custom(format!("{v:?} is not a decimal amount")))
            }
        }
        d.deserialize_any(NumVisitor)
    }
}

impl schemars::JsonSchema for Num {
    fn schema_name() -> String {
        "Num".into()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        super::json_schema(serde_json::json!({
            "description": "A count (an integer), an amount in the reporting currency (an exact decimal string with the currency's minor unit, rounded half-even: sum it as a decimal) or a ratio (a number rounded to six decimals)",
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}
            ]
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_writes_and_reads_its_decimals() {
        for (minor, exp, text) in [
            (123450, 2, "1234.50"),
            (-5, 2, "-0.05"),
            (1235, 0, "1235"),
            (7, 3, "0.007"),
        ] {
            let m = Amount { minor, exp };
            assert_eq!(m.to_string(), text);
            assert_eq!(Amount::parse(text), Some(m));
            let n: Num = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(n, Num::Amount(m));
            assert_eq!(serde_json::to_string(&n).unwrap(), format!("\"{text}\""));
        }
        for bad in ["", "1.", ".5", "1e3", "--1", "12a"] {
            assert_eq!(Amount::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn amounts_are_written_as_the_formatter_writes_them() {
        // The formatter's way (what the encoder replaced), as the reference.
        let reference = |m: Amount| {
            let sign = if m.minor < 0 { "-" } else { "" };
            let digits = format!(
                "{:0>width$}",
                m.minor.unsigned_abs(),
                width = m.exp as usize + 1
            );
            let (int, frac) = digits.split_at(digits.len() - m.exp as usize);
            if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            }
        };
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut minors = vec![0, 1, -1, 9, 10, -10, i64::MAX, i64::MIN, i64::MIN + 1];
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            minors.push((x as i64) >> (x % 63));
        }
        for minor in minors {
            for exp in [0u8, 1, 2, 3, 6, 18, 19, 25, u8::MAX] {
                let m = Amount { minor, exp };
                assert_eq!(m.to_string(), reference(m), "{minor} exp {exp}");
            }
        }
    }

    #[test]
    fn a_binary_format_holds_the_number_as_before_it_was_a_num() {
        let bytes = postcard::to_allocvec(&Num::Real(2.5)).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&2.5f64).unwrap());
        assert_eq!(postcard::from_bytes::<Num>(&bytes).unwrap(), Num::Real(2.5));
    }

    #[test]
    fn whole_reals_are_written_without_a_fraction() {
        let text = |x: f64| serde_json::to_string(&Num::Real(x)).unwrap();
        assert_eq!(text(2.0), "2");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(0.833333), "0.833333");
        assert_eq!(text(1e300), "1e+300");
        assert_eq!(text(f64::NAN), "null");
        let back: f64 = serde_json::from_str(&text(40.0)).unwrap();
        assert_eq!(back, 40.0);
        let read: Num = serde_json::from_str(&text(40.0)).unwrap();
        assert_eq!(read, Num::Real(40.0), "a whole real reads back equal");
        assert_ne!(Num::Int(40), Num::Amount(Amount { minor: 40, exp: 0 }));
    }
}
