//! Master key rotation: re-seals every secret still sealed under an older key. Each row is
//! swapped only if it still holds the value that was read, so a concurrent change is never
//! overwritten; nodes hold old and new keys meanwhile, so nothing stops serving.

use anyhow::Context;
use uuid::Uuid;

use crate::crypto::seal::{SealContext, Sealer};
use crate::db;

/// One kind of sealed column: where it lives and how its seal context is formed.
struct SealedColumn {
    column: db::sealed::Column,
    context: fn(Uuid, &str, &str) -> SealContext,
}

const COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        column: db::sealed::Column::ConnectionSecret,
        context: |t, id, _| SealContext::connection_secret(t, id),
    },
    SealedColumn {
        column: db::sealed::Column::SigningKey,
        context: |t, kid, _| SealContext::signing_key(t, kid),
    },
    SealedColumn {
        column: db::sealed::Column::UpstreamTokens,
        context: |t, user, conn| SealContext::identity_tokens(t, user, conn),
    },
];

/// Re-seals everything under the current key; returns how many values changed.
pub async fn reseal_all(pool: &sqlx::PgPool, sealer: &Sealer) -> anyhow::Result<u64> {
    let mut count = 0;
    for column in COLUMNS {
        let rows = db::sealed::all(pool, column.column).await?;
        for db::sealed::SealedValue {
            tenant_id,
            id,
            extra,
            sealed,
        } in rows
        {
            if !sealer.is_stale(&sealed) {
                continue;
            }
            let context = (column.context)(tenant_id, &id, &extra);
            let plain = sealer
                .open(&sealed, &context)
                .with_context(|| format!("opening a sealed value of tenant {tenant_id}"))?;
            let resealed = sealer.seal(&plain, &context);
            let updated =
                db::sealed::swap(pool, column.column, tenant_id, &id, &sealed, &resealed).await?;
            count += updated;
        }
    }
    Ok(count)
}
