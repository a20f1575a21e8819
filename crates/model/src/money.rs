//! Exact money. Amounts are parsed from decimal text (or a JSON number, read
//! back through its shortest decimal form) into integer minor units of their
//! currency, then converted once per event into *micro-units* (10^-6) of the
//! reporting currency: `micros = round_half_even(minor * rate * 10^6 / 10^exp)`.
//! Every sum after that is exact integer arithmetic; rounding to the reporting
//! currency's minor unit happens only when a value is written out.

use std::collections::HashMap;

/// Largest accepted amount, in whole units of any currency (and of the
/// reporting currency after conversion): one trillion.
pub const MAX_UNITS: i64 = 1_000_000_000_000;

/// Money in micro-units (10^-6) of the reporting currency.
pub type Micros = i64;

/// An amount as the event carried it, plus its exact reporting-currency value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// Integer minor units of `currency` (cents for USD, yen for JPY).
    pub minor: i64,
    /// ISO 4217 code.
    pub currency: [u8; 3],
    /// Converted value in micro-units of the reporting currency.
    pub micros: Micros,
}

/// One currency the engine accepts: its decimal places and its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrencyEntry {
    /// Decimal places of the minor unit (2 for USD, 0 for JPY, 3 for KWD).
    pub exponent: u32,
    /// Units of reporting currency per unit of this currency, scaled by 10^9.
    pub rate_nanos: i128,
}

/// The configured currencies: exponents and conversion rates to the reporting currency.
#[derive(Debug, Clone)]
pub struct CurrencyTable {
    reporting: [u8; 3],
    reporting_exponent: u32,
    entries: HashMap<[u8; 3], CurrencyEntry>,
}

/// A currency table that cannot be built, with the offending entry named.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CurrencyError {
    /// The code is not three ASCII upper-case letters.
    #[error("currency code {0:?} is not three upper-case letters (ISO 4217, e.g. \"EUR\")")]
    BadCode(String),
    /// The rate is not a positive decimal with at most 9 decimals.
    #[error("rate {rate:?} for {code} is not a positive decimal with at most 9 decimals (e.g. \"1.0845\")")]
    BadRate {
        /// The currency.
        code: String,
        /// The rate text.
        rate: String,
    },
    /// No exponent is known for the code and none was configured.
    #[error("no decimal places known for {0}; set `exponent` for it in [currency.rates]")]
    UnknownExponent(String),
    /// The exponent is larger than 4.
    #[error("exponent {exponent} for {code} is out of range; expected 0 to 4")]
    BadExponent {
        /// The currency.
        code: String,
        /// The configured exponent.
        exponent: u32,
    },
}

/// ISO 4217 minor-unit exponents for the currencies most sales teams meet.
pub fn iso_exponent(code: &str) -> Option<u32> {
    Some(match code {
        "JPY" | "KRW" | "CLP" | "ISK" | "VND" | "HUF" | "XOF" | "XAF" | "PYG" | "UGX" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        "CLF" | "UYW" => 4,
        "USD" | "EUR" | "GBP" | "CHF" | "CAD" | "AUD" | "NZD" | "SEK" | "NOK" | "DKK" | "PLN"
        | "CZK" | "INR" | "CNY" | "HKD" | "SGD" | "BRL" | "MXN" | "ZAR" | "AED" | "SAR" | "ILS"
        | "TRY" | "THB" | "MYR" | "IDR" | "PHP" | "TWD" | "RON" | "COP" | "ARS" | "PEN" | "EGP"
        | "NGN" | "KES" | "RUB" | "UAH" => 2,
        _ => return None,
    })
}

fn code_bytes(code: &str) -> Result<[u8; 3], CurrencyError> {
    let b = code.as_bytes();
    if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
        return Err(CurrencyError::BadCode(code.to_string()));
    }
    Ok([b[0], b[1], b[2]])
}

impl CurrencyTable {
    /// A table whose only currency is the reporting currency (rate 1).
    pub fn new(reporting: &str, exponent: Option<u32>) -> Result<Self, CurrencyError> {
        let code = code_bytes(reporting)?;
        let exponent = resolve_exponent(reporting, exponent)?;
        let mut entries = HashMap::new();
        entries.insert(
            code,
            CurrencyEntry {
                exponent,
                rate_nanos: 1_000_000_000,
            },
        );
        Ok(CurrencyTable {
            reporting: code,
            reporting_exponent: exponent,
            entries,
        })
    }

    /// Adds (or replaces) a currency with a decimal rate text such as "1.0845".
    pub fn add(
        &mut self,
        code: &str,
        rate: &str,
        exponent: Option<u32>,
    ) -> Result<(), CurrencyError> {
        let key = code_bytes(code)?;
        let exponent = resolve_exponent(code, exponent)?;
        let bad = || CurrencyError::BadRate {
            code: code.to_string(),
            rate: rate.to_string(),
        };
        let rate_nanos = parse_decimal(rate, 9).map_err(|_| bad())?;
        if rate_nanos <= 0 {
            return Err(bad());
        }
        self.entries.insert(
            key,
            CurrencyEntry {
                exponent,
                rate_nanos: i128::from(rate_nanos),
            },
        );
        Ok(())
    }

    /// The reporting currency code.
    pub fn reporting(&self) -> &str {
        std::str::from_utf8(&self.reporting).unwrap_or("???")
    }

    /// Decimal places of the reporting currency.
    pub fn reporting_exponent(&self) -> u32 {
        self.reporting_exponent
    }

    /// Looks a currency up by code.
    pub fn get(&self, code: &str) -> Option<CurrencyEntry> {
        let b = code.as_bytes();
        if b.len() != 3 {
            return None;
        }
        self.entries.get(&[b[0], b[1], b[2]]).copied()
    }

    /// Converts minor units of a currency into reporting micro-units (half-even).
    pub fn to_micros(entry: CurrencyEntry, minor: i64) -> i128 {
        // micros = minor * rate_nanos * 10^6 / (10^exp * 10^9) = minor * rate_nanos / 10^(exp+3)
        let num = i128::from(minor) * entry.rate_nanos;
        let den = 10i128.pow(entry.exponent + 3);
        div_round_half_even(num, den)
    }

    /// Rounds reporting micro-units to the reporting currency's minor unit
    /// (half-even) and returns the value as a JSON-ready float.
    pub fn micros_to_output(&self, micros: i128) -> f64 {
        self.quotient_to_output(micros, 1)
    }

    /// Decimals of the amounts in output records: the reporting currency's
    /// minor unit, at most six (micro-units).
    pub fn amount_decimals(&self) -> u8 {
        self.reporting_exponent.min(6) as u8
    }

    /// Rounds reporting micro-units to the reporting currency's minor unit
    /// (half-even): an exact amount for the output records.
    pub fn micros_to_amount(&self, micros: i128) -> crate::record::Amount {
        self.quotient_to_amount(micros, 1)
    }

    /// Rounds `micros / count` once, half-even, to the reporting minor unit.
    pub fn quotient_to_amount(&self, micros: i128, count: u64) -> crate::record::Amount {
        let exp = self.amount_decimals();
        let den = 10i128.pow(6 - u32::from(exp)) * i128::from(count.max(1));
        let minor = div_round_half_even(micros, den);
        crate::record::Amount {
            minor: i64::try_from(minor).unwrap_or(if minor < 0 { i64::MIN } else { i64::MAX }),
            exp,
        }
    }

    /// Rounds reporting micro-units to the reporting currency's minor unit
    /// (half-even) and writes the amount as an exact decimal string with
    /// that many decimals (`"1234.50"` in EUR, `"1235"` in JPY).
    pub fn micros_to_decimal(&self, micros: i128) -> String {
        let exp = self.reporting_exponent.min(6);
        let minor = div_round_half_even(micros, 10i128.pow(6 - exp));
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let unit = 10u128.pow(exp);
        format!(
            "{sign}{}.{:0width$}",
            abs / unit,
            abs % unit,
            width = exp as usize
        )
    }

    /// Rounds `micros / count` once, half-even, to the reporting minor unit.
    pub fn quotient_to_output(&self, micros: i128, count: u64) -> f64 {
        let den = 10i128.pow(6 - self.reporting_exponent.min(6)) * i128::from(count.max(1));
        let minor = div_round_half_even(micros, den);
        minor as f64 / 10f64.powi(self.reporting_exponent as i32)
    }
}

fn resolve_exponent(code: &str, exponent: Option<u32>) -> Result<u32, CurrencyError> {
    let e = exponent
        .or_else(|| iso_exponent(code))
        .ok_or_else(|| CurrencyError::UnknownExponent(code.to_string()))?;
    if e > 4 {
        return Err(CurrencyError::BadExponent {
            code: code.to_string(),
            exponent: e,
        });
    }
    Ok(e)
}

/// Integer division rounding to nearest, ties to even.
pub fn div_round_half_even(num: i128, den: i128) -> i128 {
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    match (2 * r).cmp(&den) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// Why a decimal text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not digits with at most one '.'.
    Malformed,
    /// Starts with '-'.
    Negative,
    /// More fractional digits than allowed.
    TooManyDecimals,
    /// Larger than the supported range.
    TooLarge,
}

/// Parses a non-negative decimal ("1234.56", "0.5", "12") into an integer
/// scaled by 10^`scale`. Rejects signs, exponents and excess decimals.
pub fn parse_decimal(s: &str, scale: u32) -> Result<i64, DecimalError> {
    let b = s.as_bytes();
    if b.first() == Some(&b'-') {
        return Err(DecimalError::Negative);
    }
    let (int_part, frac_part) = match s.find('.') {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b[..0]),
    };
    if int_part.is_empty() || (s.contains('.') && frac_part.is_empty()) {
        return Err(DecimalError::Malformed);
    }
    if !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
        return Err(DecimalError::Malformed);
    }
    // Trailing zeros beyond the scale carry no value ("12.50" in a 1-decimal scale is fine).
    let significant = frac_part.len() - frac_part.iter().rev().take_while(|&&c| c == b'0').count();
    if significant > scale as usize {
        return Err(DecimalError::TooManyDecimals);
    }
    let mut v: i64 = 0;
    for &c in int_part {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(c - b'0')))
            .ok_or(DecimalError::TooLarge)?;
    }
    for i in 0..scale as usize {
        let d = frac_part.get(i).map_or(0, |c| i64::from(c - b'0'));
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(d))
            .ok_or(DecimalError::TooLarge)?;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_output_is_exact_in_the_reporting_minor_unit() {
        let eur = CurrencyTable::new("EUR", None).unwrap();
        assert_eq!(eur.micros_to_decimal(1_234_505_000), "1234.50", "half-even");
        assert_eq!(eur.micros_to_decimal(1_234_515_000), "1234.52");
        assert_eq!(eur.micros_to_decimal(-5_000), "0.00", "no negative zero");
        assert_eq!(eur.micros_to_decimal(-15_000), "-0.02");
        assert_eq!(eur.micros_to_decimal(0), "0.00");
        let jpy = CurrencyTable::new("JPY", None).unwrap();
        assert_eq!(jpy.micros_to_decimal(1_234_500_000), "1234", "half-even");
        let big = 950_000_000_000_i128 * 1_000_000;
        assert_eq!(eur.micros_to_decimal(big), "950000000000.00");
    }

    #[test]
    fn decimal_parsing() {
        assert_eq!(parse_decimal("1234.56", 2), Ok(123_456));
        assert_eq!(parse_decimal("12", 2), Ok(1200));
        assert_eq!(parse_decimal("12.50", 1), Ok(125));
        assert_eq!(
            parse_decimal("1.234", 2),
            Err(DecimalError::TooManyDecimals)
        );
        assert_eq!(parse_decimal("-1", 2), Err(DecimalError::Negative));
        assert_eq!(parse_decimal("1e3", 2), Err(DecimalError::Malformed));
        assert_eq!(parse_decimal(".5", 2), Err(DecimalError::Malformed));
        assert_eq!(parse_decimal("5.", 2), Err(DecimalError::Malformed));
    }

    #[test]
    fn conversion_is_exact_and_half_even() {
        let mut t = CurrencyTable::new("USD", None).unwrap();
        t.add("EUR", "1.1", None).unwrap();
        t.add("JPY", "0.0067", None).unwrap();
        let usd = t.get("USD").unwrap();
        assert_eq!(CurrencyTable::to_micros(usd, 123_456), 1_234_560_000);
        let eur = t.get("EUR").unwrap();
        assert_eq!(CurrencyTable::to_micros(eur, 1), 11_000);
        let jpy = t.get("JPY").unwrap();
        assert_eq!(CurrencyTable::to_micros(jpy, 1000), 6_700_000);
        assert_eq!(div_round_half_even(5, 2), 2);
        assert_eq!(div_round_half_even(7, 2), 4);
        assert_eq!(div_round_half_even(-5, 2), -2);
        assert_eq!(t.micros_to_output(1_234_565_000), 1234.56);
        assert_eq!(t.micros_to_output(1_234_575_000), 1234.58);
    }

    #[test]
    fn table_errors_name_the_entry() {
        let mut t = CurrencyTable::new("USD", None).unwrap();
        assert!(matches!(
            t.add("eur", "1", None),
            Err(CurrencyError::BadCode(_))
        ));
        assert!(matches!(
            t.add("EUR", "-1", None),
            Err(CurrencyError::BadRate { .. })
        ));
        assert!(matches!(
            t.add("XYZ", "1", None),
            Err(CurrencyError::UnknownExponent(_))
        ));
        assert!(t.add("XYZ", "1", Some(2)).is_ok());
    }
}
