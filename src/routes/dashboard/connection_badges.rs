//! The success-rate badges of the connections list: the Health tab's last day
//! (`services::health`), for every connection of a tenant at once.

use std::collections::HashMap;

use uuid::Uuid;

use crate::db;
use crate::db::connections::Connection;

/// The success-rate badge of a connection in the connections list (last 24 hours).
pub struct Badge {
    /// `98%`, or empty without logins.
    pub rate: String,
    pub tone: &'static str,
    /// `2 of 3 logins succeeded in the last 24 hours`.
    pub title: String,
}

impl Badge {
    /// `ok` successful logins of `ok + not_ok`.
    fn new(ok: i64, not_ok: i64) -> Badge {
        let total = ok + not_ok;
        let rate = (total > 0).then(|| ok as f64 / total as f64);
        Badge {
            rate: rate.map(percent).unwrap_or_default(),
            tone: tone(rate),
            title: match total {
                0 => "No logins in the last 24 hours".to_owned(),
                1 => format!("{ok} of 1 login succeeded in the last 24 hours"),
                _ => format!("{ok} of {total} logins succeeded in the last 24 hours"),
            },
        }
    }

    pub fn none() -> Badge {
        Badge::new(0, 0)
    }
}

/// Badges of all of a tenant's connections, by connection id, in two queries: the same
/// numbers as the Health tab's last day (`services::health`), for every connection at once.
pub async fn badges(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    connections: &[Connection],
) -> Result<HashMap<String, Badge>, sqlx::Error> {
    let by_name = db::health::outcomes_by_connection(pool, tenant_id).await?;
    let abandoned = db::health::abandoned_by_connection(pool, tenant_id).await?;
    let by_name: HashMap<String, (i64, i64)> = by_name
        .into_iter()
        .map(|(name, ok, failed)| (name, (ok, failed)))
        .collect();
    let abandoned: HashMap<String, i64> = abandoned.into_iter().collect();
    Ok(connections
        .iter()
        .map(|c| {
            let (ok, failed) = by_name.get(&c.name).copied().unwrap_or((0, 0));
            let gone = abandoned.get(&c.connection_id).copied().unwrap_or(0);
            let badge = Badge::new(ok, failed + gone);
            (c.connection_id.clone(), badge)
        })
        .collect())
}

/// A rate as a percentage: `100%`, `66.7%`, `0%`.
pub(super) fn percent(rate: f64) -> String {
    let text = format!("{:.1}", rate * 100.0);
    format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
}

pub(super) fn tone(rate: Option<f64>) -> &'static str {
    match rate {
        None => "none",
        Some(r) if r >= 0.95 => "good",
        Some(r) if r >= 0.8 => "fair",
        Some(_) => "bad",
    }
}
