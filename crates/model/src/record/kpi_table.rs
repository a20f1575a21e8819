//! The KPI table of score records, summaries and team rollups.

use std::collections::BTreeMap;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::Num;
use crate::KpiName;

/// KPI values by KPI (every [`KpiName`], in `ALL` order),
/// then by window, serialized as a JSON object of objects in this order.
/// One flat vector of values and window names shared by every table of an
/// engine: a score record is built for nearly every event at a short
/// `emit_interval`, and a vector per KPI with a name per value cost an
/// allocation each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiTable {
    windows: WindowNames,
    /// `values[kpi * windows.len() + window]`.
    values: Vec<Option<Num>>,
}

/// A window or period name.
pub type WindowName = std::sync::Arc<str>;

/// The window names of a table, shared (one allocation per engine, not per record).
pub type WindowNames = std::sync::Arc<[WindowName]>;

impl KpiTable {
    /// A table over `windows` from values in KPI-major order: `value(kpi,
    /// window index)` for every KPI of [`KpiName::ALL`](KpiName::ALL).
    pub fn build(
        windows: &WindowNames,
        mut value: impl FnMut(KpiName, usize) -> Option<Num>,
    ) -> Self {
        let n = windows.len();
        let mut values = Vec::with_capacity(KpiName::ALL.len() * n);
        for &k in KpiName::ALL.iter() {
            values.extend((0..n).map(|w| value(k, w)));
        }
        KpiTable {
            windows: windows.clone(),
            values,
        }
    }

    /// Whether the table has no column.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The window names, in column order.
    pub fn windows(&self) -> &[WindowName] {
        &self.windows
    }

    /// Each KPI's name with its values by window (in [`KpiTable::windows`] order).
    pub fn rows(&self) -> impl Iterator<Item = (&'static str, &[Option<Num>])> {
        let n = self.windows.len().max(1);
        KpiName::ALL
            .iter()
            .map(|k| k.as_str())
            .zip(self.values.chunks(n))
    }

    /// The value of `kpi` over `window`: `None` when the table has no such
    /// KPI or window, `Some(None)` when the value is null.
    pub fn get(&self, kpi: &str, window: &str) -> Option<Option<Num>> {
        let w = self.windows.iter().position(|x| &**x == window)?;
        let (_, row) = self.rows().find(|(k, _)| *k == kpi)?;
        row.get(w).copied()
    }

    /// `self - before`, value by value, with `diff` (null when either is null).
    pub fn change(&self, before: &KpiTable, diff: impl Fn(Num, Num) -> Num) -> KpiTable {
        KpiTable {
            windows: self.windows.clone(),
            values: self
                .values
                .iter()
                .zip(&before.values)
                .map(|(a, b)| Some(diff((*a)?, (*b)?)))
                .collect(),
        }
    }
}

impl Serialize for KpiTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [WindowName], &'a [Option<Num>]);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (w, v) in self.0.iter().zip(self.1) {
                    m.serialize_entry(&**w, v)?;
                }
                m.end()
            }
        }
        if self.windows.is_empty() {
            return s.serialize_map(Some(0))?.end();
        }
        let mut m = s.serialize_map(Some(KpiName::ALL.len()))?;
        for (k, row) in self.rows() {
            m.serialize_entry(k, &Row(&self.windows, row))?;
        }
        m.end()
    }
}

impl schemars::JsonSchema for KpiTable {
    fn schema_name() -> String {
        "KpiTable".into()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        super::json_schema(serde_json::json!({
            "type": "object",
            "description": "KPI values by KPI, then by window or period name: counts as integers, amounts as exact decimal strings in the reporting currency, ratios as numbers (six decimals); null where undefined (e.g. a ratio over zero)",
            "propertyNames": {"enum": KpiName::ALL.map(KpiName::as_str)},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"anyOf": [
                    {"type": ["number", "null"]},
                    {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}
                ]}
            }
        }))
    }
}

/// Reads the object [`Serialize`] writes. Columns are the windows in the
/// order they first appear; a KPI this build does not know is skipped (a
/// newer writer may add KPIs), one the record lacks reads as null.
impl<'de> Deserialize<'de> for KpiTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TableVisitor;
        impl<'de> Visitor<'de> for TableVisitor {
            type Value = KpiTable;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of KPIs, each an object of windows")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KpiTable, A::Error> {
                let mut windows: Vec<WindowName> = Vec::new();
                let mut cells: BTreeMap<(usize, usize), Option<Num>> = BTreeMap::new();
                while let Some(kpi) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let row: Vec<(String, Option<Num>)> = map.next_value::<OrderedRow>()?.0;
                    let Some(k) = KpiName::ALL.iter().position(|x| x.as_str() == kpi) else {
                        continue;
                    };
                    for (w, v) in row {
                        let col = match windows.iter().position(|x| **x == *w) {
                            Some(c) => c,
                            None => {
                                windows.push(w.into());
                                windows.len() - 1
                            }
                        };
                        cells.insert((k, col), v);
                    }
                }
                let windows: WindowNames = windows.into();
                Ok(KpiTable::build(&windows, |k, w| {
                    let k = KpiName::ALL.iter().position(|x| *x == k)?;
                    cells.get(&(k, w)).copied().flatten()
                }))
            }
        }
        d.deserialize_map(TableVisitor)
    }
}

/// One KPI's windows in document order.
struct OrderedRow(Vec<(String, Option<Num>)>);

impl<'de> Deserialize<'de> for OrderedRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = OrderedRow;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of window names to numbers or null")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedRow, A::Error> {
                let mut row = Vec::new();
                while let Some((w, v)) = map.next_entry::<String, Option<Num>>()? {
                    row.push((w, v));
                }
                Ok(OrderedRow(row))
            }
        }
        d.deserialize_map(RowVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> KpiTable {
        let windows: WindowNames = vec!["30d".into(), "month".into()].into();
        KpiTable::build(&windows, |k, w| match (k, w) {
            (KpiName::Revenue, 0) => Some(Num::Real(1.5)),
            (KpiName::Calls, 1) => Some(Num::Int(7)),
            _ => None,
        })
    }

    #[test]
    fn serializes_every_kpi_in_order_then_every_window() {
        let json = serde_json::to_string(&table()).unwrap();
        assert!(
            json.contains(r#""revenue":{"30d":1.5,"month":null}"#),
            "{json}"
        );
        assert!(json.contains(r#""calls":{"30d":null,"month":7}"#), "{json}");
        let at: Vec<usize> = KpiName::ALL
            .iter()
            .map(|k| json.find(&format!("\"{}\":{{", k.as_str())).unwrap())
            .collect();
        assert!(
            at.windows(2).all(|w| w[0] < w[1]),
            "KPIs in ALL order: {json}"
        );
    }

    #[test]
    fn values_are_found_by_kpi_and_window() {
        let t = table();
        assert_eq!(t.get("revenue", "30d"), Some(Some(Num::Real(1.5))));
        assert_eq!(t.get("calls", "month"), Some(Some(Num::Int(7))));
        assert_eq!(t.get("calls", "30d"), Some(None));
        assert_eq!(t.get("calls", "year"), None);
        assert_eq!(t.get("nonsense", "30d"), None);
        let (_, calls) = t.rows().find(|(k, _)| *k == "calls").unwrap();
        assert_eq!(calls, &[None, Some(Num::Int(7))]);
    }

    #[test]
    fn a_change_is_taken_value_by_value_and_null_stays_null() {
        let t = table();
        let d = t.change(&t, |a, b| Num::Real(a.as_f64() - b.as_f64()));
        assert_eq!(d.get("revenue", "30d"), Some(Some(Num::Real(0.0))));
        assert_eq!(d.get("revenue", "month"), Some(None));
    }

    #[test]
    fn a_table_reads_back_what_it_wrote() {
        let t = table();
        let json = serde_json::to_string(&t).unwrap();
        let back: KpiTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        // A KPI from a newer writer is skipped; a missing one reads as null.
        let back: KpiTable =
            serde_json::from_str(r#"{"future_kpi":{"30d":1},"calls":{"30d":3}}"#).unwrap();
        assert_eq!(back.get("calls", "30d"), Some(Some(Num::Int(3))));
        assert_eq!(back.get("revenue", "30d"), Some(None));
        let empty: KpiTable = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, KpiTable::default());
    }

    #[test]
    fn an_empty_table_is_an_empty_object() {
        assert_eq!(serde_json::to_string(&KpiTable::default()).unwrap(), "{}");
    }
}
