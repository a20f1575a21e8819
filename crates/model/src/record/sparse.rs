//! The sparse form of a rep's KPI table in `kpis/2` records: most of a
//! rep's 184 values are the value over no events (no refunds this hour, no
//! survey this week), and writing them made the KPI record three times the
//! size of what it says. An entry is left out exactly when it is that
//! value: zero for a count or an amount ([`KpiName::is_additive`]), null for
//! a ratio or a mean. A ratio that is zero, or a sum that is not, is always
//! written, so the record is lossless given its `windows`: a reader restores
//! every left-out entry of every window the record lists.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::{Amount, KpiTable, Num, WindowName, WindowNames};
use crate::KpiName;

/// Whether `v` is what `kpi` is over no events, and so left out.
fn is_empty_value(kpi: KpiName, v: Option<Num>) -> bool {
    match v {
        None => true,
        Some(v) => kpi.is_additive() && v.as_f64() == 0.0,
    }
}

/// Writes `t` as an object of KPIs, each an object of the windows whose
/// value is not the value over no events; a KPI with no such window is
/// left out.
pub(crate) fn serialize<S: Serializer>(t: &KpiTable, s: S) -> Result<S::Ok, S::Error> {
    struct Row<'a>(KpiName, &'a [WindowName], &'a [Option<Num>]);
    impl Serialize for Row<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(None)?;
            for (w, v) in self.1.iter().zip(self.2) {
                if !is_empty_value(self.0, *v) {
                    m.serialize_entry(&**w, v)?;
                }
            }
            m.end()
        }
    }
    let mut m = s.serialize_map(None)?;
    for (&kpi, (name, row)) in KpiName::ALL.iter().zip(t.rows()) {
        if !row.iter().all(|v| is_empty_value(kpi, *v)) {
            m.serialize_entry(name, &Row(kpi, t.windows(), row))?;
        }
    }
    m.end()
}

/// The entries a sparse table wrote, by KPI name, then window.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct SparseCells(BTreeMap<String, BTreeMap<String, Option<Num>>>);

impl SparseCells {
    /// The whole table over `windows`: what was written, and for every
    /// left-out entry the KPI's value over no events (an amount of zero
    /// with `amount_decimals` decimals for money). A KPI or window this
    /// build does not know is skipped (a newer writer may add them).
    pub(crate) fn restore(&self, windows: &WindowNames, amount_decimals: u8) -> KpiTable {
        KpiTable::build(windows, |kpi, w| {
            let written = self.0.get(kpi.as_str()).and_then(|row| {
                let name = windows.get(w)?;
                row.get(&**name)
            });
            match written {
                Some(v) => *v,
                None if !kpi.is_additive() => None,
                None if kpi.is_money() => Some(Num::Amount(Amount {
                    minor: 0,
                    exp: amount_decimals,
                })),
                None => Some(Num::Int(0)),
            }
        })
    }
}

/// The JSON Schema of the sparse table.
pub(crate) fn schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    super::json_schema(serde_json::json!({
        "type": "object",
        "description": "KPI values by KPI, then by window or period name (one of the record's `windows`): counts as integers, amounts as exact decimal strings in the reporting currency, ratios and means as numbers (six decimals). An entry equal to the KPI's value over no events is left out: zero for a count or an amount, null for a ratio or a mean; a KPI with no other entry is left out whole. A ratio of zero, or a sum other than zero, is always written.",
        "propertyNames": {"enum": KpiName::ALL.map(KpiName::as_str)},
        "additionalProperties": {
            "type": "object",
            "additionalProperties": {"anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}
            ]}
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> WindowNames {
        ["7d", "month"].map(WindowName::from).into()
    }

    fn amount(minor: i64) -> Option<Num> {
        Some(Num::Amount(Amount { minor, exp: 2 }))
    }

    /// A table with every kind of entry: zero and non-zero sums, a zero
    /// ratio, null ratios, a negative amount.
    fn table() -> KpiTable {
        KpiTable::build(&windows(), |k, w| match (k, w) {
            (KpiName::Revenue, 0) => amount(0),
            (KpiName::Revenue, _) => amount(125_050),
            (KpiName::NetRevenue, _) => amount(-300),
            (KpiName::Calls, 1) => Some(Num::Int(4)),
            (KpiName::WinRate, 0) => Some(Num::Real(0.0)),
            (KpiName::WinRate, _) => Some(Num::Real(0.25)),
            (k, _) if k.is_additive() && k.is_money() => amount(0),
            (k, _) if k.is_additive() => Some(Num::Int(0)),
            _ => None,
        })
    }

    struct Wire<'a>(&'a KpiTable);
    impl Serialize for Wire<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize(self.0, s)
        }
    }

    #[test]
    fn leaves_out_exactly_the_values_over_no_events() {
        let json = serde_json::to_string(&Wire(&table())).unwrap();
        assert_eq!(
            json,
            r#"{"revenue":{"month":"1250.50"},"win_rate":{"7d":0,"month":0.25},"calls":{"month":4},"net_revenue":{"7d":"-3.00","month":"-3.00"}}"#
        );
    }

    #[test]
    fn restores_the_whole_table() {
        let t = table();
        let json = serde_json::to_string(&Wire(&t)).unwrap();
        let cells: SparseCells = serde_json::from_str(&json).unwrap();
        assert_eq!(cells.restore(&windows(), 2), t);
        let empty: SparseCells = serde_json::from_str("{}").unwrap();
        let back = empty.restore(&windows(), 2);
        assert_eq!(back.get("revenue", "7d"), Some(amount(0)));
        assert_eq!(back.get("calls", "month"), Some(Some(Num::Int(0))));
        assert_eq!(back.get("win_rate", "month"), Some(None));
    }

    #[test]
    fn skips_what_this_build_does_not_know() {
        let cells: SparseCells =
            serde_json::from_str(r#"{"future_kpi":{"7d":1},"calls":{"1y":3,"7d":2}}"#).unwrap();
        let back = cells.restore(&windows(), 2);
        assert_eq!(back.get("calls", "7d"), Some(Some(Num::Int(2))));
        assert_eq!(back.get("calls", "1y"), None);
    }
}
