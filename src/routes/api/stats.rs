//! `/api/v2/stats`: Auth0's activity figures, so a dashboard or a report built on the Auth0
//! SDKs (`stats.getDaily`, `stats.getActiveUsersCount`) works unchanged.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Days, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::auth::ManagementToken;
use super::paging::{invalid, Query};
use super::reply::{json_body, Reply};
use super::users::date;
use crate::db;
use crate::db::stats::Day;
use crate::error::ApiError;
use crate::state::AppState;

/// Without `from`, the 30 days up to `to`; a longer range is refused, not cut.
const DEFAULT_DAYS: u64 = 30;
const MAX_DAYS: i64 = 366;

/// `GET /stats/active-users`: users who logged in during the last 30 days, a bare number.
pub async fn active_users(
    token: ManagementToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:stats")?;
    let count = db::stats::active_users(&state.pool, token.tenant_id()).await?;
    Ok(Reply::ok(Value::from(count)).into_response())
}

/// `GET /stats/daily?from=YYYYMMDD&to=YYYYMMDD`: logins and signups per UTC day, every day of
/// the range (inclusive; by default the 30 days up to today) whether anything happened or not.
pub async fn daily(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("read:stats")?;
    let q = Query::parse(&req);
    let to = day(&q, "to")?.unwrap_or_else(|| Utc::now().date_naive());
    let from = match day(&q, "from")? {
        Some(from) => from,
        None => to
            .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
            .unwrap_or(NaiveDate::MIN),
    };
    if from > to {
        return Err(invalid("from", "must not be after to"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(invalid(
            "from",
            format!("the range may span at most {MAX_DAYS} days"),
        ));
    }
    let days = db::stats::daily(&state.pool, token.tenant_id(), from, to).await?;
    let days: Vec<DayBody> = days.iter().map(DayBody::new).collect();
    Ok(Reply::ok(json_body(&days)).into_response())
}

/// A `YYYYMMDD` parameter, as Auth0 takes it.
fn day(q: &Query, key: &str) -> Result<Option<NaiveDate>, ApiError> {
    let Some(text) = q.text(key, 8)? else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(&text, "%Y%m%d")
        .ok()
        .filter(|d| text.len() == 8 && (1970..=9999).contains(&d.year()))
        .map(Some)
        .ok_or_else(|| invalid(key, "must be a date as YYYYMMDD"))
}

/// One day's figures in Auth0's shape: `created_at` is when the day's first event happened,
/// `updated_at` its last (the day's start when it had none).
#[derive(Serialize)]
struct DayBody {
    date: String,
    logins: i64,
    signups: i64,
    /// Always 0: passwords are checked by the upstream identity providers, never here.
    leaked_passwords: i64,
    created_at: String,
    updated_at: String,
}

impl DayBody {
    fn new(d: &Day) -> Self {
        let start = d.day.and_time(NaiveTime::MIN).and_utc();
        DayBody {
            date: date(&start),
            logins: d.logins,
            signups: d.signups,
            leaked_passwords: 0,
            created_at: date(&d.first.unwrap_or(start)),
            updated_at: date(&d.last.unwrap_or(start)),
        }
    }
}
