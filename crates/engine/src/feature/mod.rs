//! Features: what the engine computes about a rep beyond its windows and
//! periods (detectors, commission, forecast, coaching, closed-period
//! history, day-close standing, assist credits). Each lives in its own
//! module with its own state and implements [`hooks::Feature`]: hooks the engine
//! calls at fixed points (an event applied, a tick of stream time, a
//! period summary built, a score record built), plus heap accounting and
//! shrinking. Each writes its own tagged section of the rep's changelog
//! record ([`crate::changelog`]).
//!
//! To add a feature: a module here with a type implementing [`hooks::Feature`],
//! one line in the `features!` list below (its field, and its changelog
//! tag), and the record field its section fills in `salespulse_model::record`.
//! Dispatch is static: [`Features`] calls each feature's hook in list order.

use salespulse_kpi::SalesAcc;
use salespulse_model::record::ScoreRecord;
use salespulse_model::Rejection;
use salespulse_window::Period;

use crate::moment::TickAt;
use hooks::{AdmitCx, EventCx, Feature, PeriodCx, RecordCx, TickCx};

pub(crate) mod coaching;
pub(crate) mod commission;
pub(crate) mod credit;
pub(crate) mod detect;
pub(crate) mod forecast;
pub(crate) mod history;
pub(crate) mod hooks;
pub(crate) mod standing;

/// Declares the features: the [`Features`] struct, its dispatch, and the
/// changelog tag of each (stable: a tag is never reused for another
/// encoding).
macro_rules! features {
    ($($field:ident: $ty:ty = $tag:literal),* $(,)?) => {
        /// Every feature's state for one rep.
        #[derive(Debug, Clone, Default)]
        pub(crate) struct Features {
            $(pub $field: $ty,)*
        }

        impl Features {
            /// Each feature's changelog tag, in order.
            #[cfg(test)]
            pub(crate) const TAGS: &'static [&'static str] = &[$($tag),*];

            pub(crate) fn admit(&mut self, cx: &mut AdmitCx<'_, '_>) -> Result<(), Rejection> {
                $(self.$field.admit(cx)?;)*
                Ok(())
            }

            pub(crate) fn on_event(&mut self, cx: &mut EventCx<'_, '_>) {
                $(self.$field.on_event(cx);)*
            }

            pub(crate) fn on_late(&mut self, period: &Period, acc: &SalesAcc) {
                $(self.$field.on_late(period, acc);)*
            }

            pub(crate) fn due_at_minor_tick(&self, at: &TickAt<'_>) -> bool {
                false $(|| self.$field.due_at_minor_tick(at))*
            }

            pub(crate) fn on_tick(&mut self, cx: &mut TickCx<'_>) -> bool {
                let mut changed = false;
                $(changed |= self.$field.on_tick(cx);)*
                changed
            }

            pub(crate) fn on_period_close(&mut self, cx: &PeriodCx<'_>) {
                $(self.$field.on_period_close(cx);)*
            }

            pub(crate) fn score_sections(&mut self, cx: &RecordCx<'_>, rec: &mut ScoreRecord) {
                $(self.$field.score_section(cx, rec);)*
            }

            pub(crate) fn summary_sections(&self, cx: &RecordCx<'_>, rec: &mut ScoreRecord) {
                $(self.$field.summary_section(cx, rec);)*
            }

            pub(crate) fn heap_bytes(&self) -> usize {
                0 $(+ self.$field.heap_bytes())*
            }

            pub(crate) fn shrink(&mut self) {
                $(self.$field.shrink();)*
            }

            /// Appends each feature's tagged section.
            pub(crate) fn write_sections(&self, out: &mut Vec<u8>) -> Result<(), postcard::Error> {
                $(crate::section::write_section(out, $tag, &self.$field)?;)*
                Ok(())
            }

            /// Reads one tagged section into its feature; false for a tag
            /// this build does not know.
            pub(crate) fn read_section(&mut self, tag: &str, body: &[u8]) -> Result<bool, postcard::Error> {
                match tag {
                    $($tag => {
                        self.$field = postcard::from_bytes(body)?;
                        Ok(true)
                    })*
                    _ => Ok(false),
                }
            }
        }
    };
}

features! {
    detect: detect::Detect = "detect",
    commission: commission::Commission = "commission",
    forecast: forecast::Forecast = "forecast",
    coaching: coaching::Coaching = "coaching",
    history: history::History = "history",
    standing: standing::Standing = "standing",
    credit: credit::Credits = "credit",
}

#[cfg(test)]
mod tests {
    use super::Features;

    #[test]
    fn changelog_tags_are_unique() {
        let mut tags = Features::TAGS.to_vec();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), Features::TAGS.len());
    }
}
