//! Malformed variants of good lines: each kind of mistake a real upstream makes.

use rand::Rng;

/// A broken copy of `line` (one of: truncated JSON, missing field, negative
/// amount, unknown currency, bad timestamp, unknown type, wrong type, excess decimals).
pub fn malform<R: Rng>(line: &str, rng: &mut R) -> String {
    let mut v: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(_) => return line[..line.len() / 2].to_string(),
    };
    let mut kind = rng.gen_range(0..8);
    if let Some(obj) = v.as_object_mut() {
        // Amount mistakes only break events that carry an amount.
        if matches!(kind, 2 | 3 | 7) && !obj.contains_key("amount") {
            kind = 1;
        }
        // A malformed line gets its own id so it is not mistaken for a duplicate of the good one.
        if let Some(id) = obj
            .get("event_id")
            .and_then(|i| i.as_str())
            .map(|s| format!("{s}-bad"))
        {
            obj.insert("event_id".into(), id.into());
        }
        match kind {
            0 => return line[..line.len() / 2].to_string(),
            1 => {
                obj.remove("rep_id");
            }
            2 => {
                obj.insert("amount".into(), "-10.00".into());
                obj.entry("currency").or_insert("USD".into());
            }
            3 => {
                obj.insert("amount".into(), "10.00".into());
                obj.insert("currency".into(), "XTS".into());
            }
            4 => {
                obj.insert("occurred_at".into(), "yesterday at noon".into());
            }
            5 => {
                obj.insert("type".into(), "deal.teleported".into());
            }
            6 => {
                obj.insert("rep_id".into(), 12345.into());
            }
            _ => {
                obj.insert("amount".into(), "10.001".into());
                obj.insert("currency".into(), "USD".into());
            }
        }
    }
    v.to_string()
}
