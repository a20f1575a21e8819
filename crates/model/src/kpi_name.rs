//! The KPI names: part of the output contract (score records, targets in
//! `rep.updated`, profile components). Their computation lives in the `kpi` crate.

/// A KPI of the catalog. The string forms are a public contract.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum KpiName {
    /// Won amount in the reporting currency.
    Revenue,
    /// Number of deals won.
    DealsWon,
    /// Number of deals lost.
    DealsLost,
    /// won / (won + lost).
    WinRate,
    /// revenue / deals_won.
    AvgDealSize,
    /// Mean days from created to won over deals won with a known creation time.
    SalesCycleDays,
    /// Amount of deals created.
    PipelineCreated,
    /// Calls made.
    Calls,
    /// Meetings held.
    Meetings,
    /// Emails sent.
    Emails,
    /// calls + meetings + emails.
    Activities,
    /// meetings / calls.
    MeetingsPerCall,
    /// Deals won flagged `new_customer`.
    NewCustomers,
    /// Amount invoiced.
    Invoiced,
    /// Amount of payments received.
    Collected,
    /// collected / invoiced.
    CollectionRate,
    /// Amount refunded.
    Refunds,
    /// revenue - refunds.
    NetRevenue,
    /// Mean CSAT (1-5).
    Csat,
    /// % promoters (9-10) minus % detractors (0-6).
    Nps,
    /// Partners onboarded.
    PartnersOnboarded,
    /// Won amount with channel `partner`.
    PartnerRevenue,
    /// Deals won by other reps that credit this rep.
    Assists,
}

impl KpiName {
    /// Every KPI in output order.
    pub const ALL: [KpiName; 23] = [
        KpiName::Revenue,
        KpiName::DealsWon,
        KpiName::DealsLost,
        KpiName::WinRate,
        KpiName::AvgDealSize,
        KpiName::SalesCycleDays,
        KpiName::PipelineCreated,
        KpiName::Calls,
        KpiName::Meetings,
        KpiName::Emails,
        KpiName::Activities,
        KpiName::MeetingsPerCall,
        KpiName::NewCustomers,
        KpiName::Invoiced,
        KpiName::Collected,
        KpiName::CollectionRate,
        KpiName::Refunds,
        KpiName::NetRevenue,
        KpiName::Csat,
        KpiName::Nps,
        KpiName::PartnersOnboarded,
        KpiName::PartnerRevenue,
        KpiName::Assists,
    ];

    /// The contract name, e.g. `win_rate`.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiName::Revenue => "revenue",
            KpiName::DealsWon => "deals_won",
            KpiName::DealsLost => "deals_lost",
            KpiName::WinRate => "win_rate",
            KpiName::AvgDealSize => "avg_deal_size",
            KpiName::SalesCycleDays => "sales_cycle_days",
            KpiName::PipelineCreated => "pipeline_created",
            KpiName::Calls => "calls",
            KpiName::Meetings => "meetings",
            KpiName::Emails => "emails",
            KpiName::Activities => "activities",
            KpiName::MeetingsPerCall => "meetings_per_call",
            KpiName::NewCustomers => "new_customers",
            KpiName::Invoiced => "invoiced",
            KpiName::Collected => "collected",
            KpiName::CollectionRate => "collection_rate",
            KpiName::Refunds => "refunds",
            KpiName::NetRevenue => "net_revenue",
            KpiName::Csat => "csat",
            KpiName::Nps => "nps",
            KpiName::PartnersOnboarded => "partners_onboarded",
            KpiName::PartnerRevenue => "partner_revenue",
            KpiName::Assists => "assists",
        }
    }

    /// Looks a KPI up by its contract name.
    pub fn parse(s: &str) -> Option<KpiName> {
        KpiName::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Whether the KPI is a sum over its events (a count or an amount):
    /// zero over no events, and summed when windows or reps are combined.
    /// The others are ratios and means, undefined (null) over no events.
    pub fn is_additive(self) -> bool {
        use KpiName as K;
        !matches!(
            self,
            K::WinRate
                | K::AvgDealSize
                | K::SalesCycleDays
                | K::MeetingsPerCall
                | K::CollectionRate
                | K::Csat
                | K::Nps
        )
    }

    /// Whether the KPI is an amount of money in the reporting currency,
    /// written as an exact decimal string.
    pub fn is_money(self) -> bool {
        use KpiName as K;
        matches!(
            self,
            K::Revenue
                | K::AvgDealSize
                | K::PipelineCreated
                | K::Invoiced
                | K::Collected
                | K::Refunds
                | K::NetRevenue
                | K::PartnerRevenue
        )
    }

    /// Comma-separated list of all names, for error messages.
    pub fn all_names() -> String {
        KpiName::ALL.map(KpiName::as_str).join(", ")
    }
}

impl std::fmt::Display for KpiName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
