//! How each KPI of the catalog is derived from a [`SalesAcc`].

use salespulse_model::KpiName;

use crate::SalesAcc;

/// A KPI value before output formatting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KpiValue {
    /// Reporting-currency micro-units (exact).
    Money(i128),
    /// An exact quotient of money: micro-units over a count (rounded once, at output).
    MoneyPer(i128, u64),
    /// A count.
    Count(u64),
    /// A ratio or mean.
    Real(f64),
    /// Undefined (a ratio over zero).
    Null,
}

impl KpiValue {
    /// The value as a number in output units (money in whole currency units), or None when null.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            KpiValue::Money(m) => Some(m as f64 / 1e6),
            KpiValue::MoneyPer(m, n) => Some(m as f64 / 1e6 / n as f64),
            KpiValue::Count(c) => Some(c as f64),
            KpiValue::Real(r) => Some(r),
            KpiValue::Null => None,
        }
    }
}

fn ratio(num: f64, den: f64) -> KpiValue {
    if den == 0.0 {
        KpiValue::Null
    } else {
        KpiValue::Real(num / den)
    }
}

/// Whether `kpi` is an amount of money (a [`KpiValue::Money`] or
/// [`KpiValue::MoneyPer`]), to be written as an exact decimal string.
pub fn is_money(kpi: KpiName) -> bool {
    kpi.is_money()
}

/// Derives one KPI from sums.
pub fn kpi_value(kpi: KpiName, a: &SalesAcc) -> KpiValue {
    use KpiName as K;
    let money = |m: i64| KpiValue::Money(i128::from(m));
    let count = |c: u32| KpiValue::Count(u64::from(c));
    match kpi {
        K::Revenue => money(a.revenue),
        K::DealsWon => count(a.deals_won),
        K::DealsLost => count(a.deals_lost),
        K::WinRate => ratio(
            f64::from(a.deals_won),
            f64::from(a.deals_won) + f64::from(a.deals_lost),
        ),
        K::AvgDealSize => {
            if a.deals_won == 0 {
                KpiValue::Null
            } else {
                KpiValue::MoneyPer(i128::from(a.revenue), u64::from(a.deals_won))
            }
        }
        K::SalesCycleDays => ratio(a.cycle_secs as f64 / 86_400.0, f64::from(a.cycle_count)),
        K::PipelineCreated => money(a.pipeline),
        K::Calls => count(a.calls),
        K::Meetings => count(a.meetings),
        K::Emails => count(a.emails),
        K::Activities => {
            KpiValue::Count(u64::from(a.calls) + u64::from(a.meetings) + u64::from(a.emails))
        }
        K::MeetingsPerCall => ratio(f64::from(a.meetings), f64::from(a.calls)),
        K::NewCustomers => count(a.new_customers),
        K::Invoiced => money(a.invoiced),
        K::Collected => money(a.collected),
        K::CollectionRate => ratio(a.collected as f64, a.invoiced as f64),
        K::Refunds => money(a.refunds),
        K::NetRevenue => KpiValue::Money(i128::from(a.revenue) - i128::from(a.refunds)),
        K::Csat => ratio(f64::from(a.csat_sum), f64::from(a.csat_count)),
        K::Nps => ratio(
            100.0 * (f64::from(a.nps_promoters) - f64::from(a.nps_detractors)),
            f64::from(a.nps_count),
        ),
        K::PartnersOnboarded => count(a.partners_onboarded),
        K::PartnerRevenue => money(a.partner_revenue),
        K::Assists => count(a.assists),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_over_zero_are_null() {
        let a = SalesAcc::default();
        for k in [
            KpiName::WinRate,
            KpiName::AvgDealSize,
            KpiName::SalesCycleDays,
            KpiName::MeetingsPerCall,
            KpiName::CollectionRate,
            KpiName::Csat,
            KpiName::Nps,
        ] {
            assert_eq!(kpi_value(k, &a), KpiValue::Null, "{k}");
        }
        assert_eq!(kpi_value(KpiName::Revenue, &a), KpiValue::Money(0));
    }

    #[test]
    fn is_money_names_exactly_the_kpis_valued_in_money() {
        // Every sum non-zero, so that no KPI is null.
        let a = SalesAcc {
            revenue: 5,
            deals_won: 1,
            deals_lost: 1,
            cycle_secs: 1,
            cycle_count: 1,
            pipeline: 1,
            calls: 1,
            invoiced: 1,
            csat_sum: 1,
            csat_count: 1,
            nps_count: 1,
            ..Default::default()
        };
        for k in KpiName::ALL {
            let money = matches!(
                kpi_value(k, &a),
                KpiValue::Money(_) | KpiValue::MoneyPer(..)
            );
            assert_eq!(is_money(k), money, "{k}");
        }
    }

    #[test]
    fn additive_kpis_are_zero_over_no_events_and_the_others_null() {
        let none = SalesAcc::default();
        for &k in KpiName::ALL.iter() {
            let v = kpi_value(k, &none);
            let zero = matches!(v, KpiValue::Money(0) | KpiValue::Count(0));
            assert_eq!(k.is_additive(), zero, "{k}: {v:?}");
            assert_eq!(!k.is_additive(), v == KpiValue::Null, "{k}: {v:?}");
        }
    }

    #[test]
    fn nps_and_win_rate() {
        let a = SalesAcc {
            nps_count: 4,
            nps_promoters: 2,
            nps_detractors: 1,
            deals_won: 1,
            deals_lost: 3,
            ..Default::default()
        };
        assert_eq!(kpi_value(KpiName::Nps, &a), KpiValue::Real(25.0));
        assert_eq!(kpi_value(KpiName::WinRate, &a), KpiValue::Real(0.25));
    }
}
