//! Master key rotation: re-seals every secret still sealed under an older key. Each row is
//! swapped only if it still holds the value that was read, so a concurrent change is never
//! overwritten; nodes hold old and new keys meanwhile, so nothing stops serving.

use anyhow::Context;
use uuid::Uuid;

use crate::crypto::seal::{SealContext, Sealer};

/// One kind of sealed column: where it lives and how its seal context is formed.
struct SealedColumn {
    select: &'static str,
    update: &'static str,
    context: fn(Uuid, &str, &str) -> SealContext,
}

const COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        select: "SELECT tenant_id, connection_id, '' AS extra, client_secret_sealed FROM connections WHERE client_secret_sealed IS NOT NULL",
        update: "UPDATE connections SET client_secret_sealed = $4 WHERE tenant_id = $1 AND connection_id = $2 AND client_secret_sealed = $3",
        context: |t, id, _| SealContext::connection_secret(t, id),
    },
    SealedColumn {
        select: "SELECT tenant_id, kid, '' AS extra, private_key_sealed FROM signing_keys",
        update: "UPDATE signing_keys SET private_key_sealed = $4 WHERE tenant_id = $1 AND kid = $2 AND private_key_sealed = $3",
        context: |t, kid, _| SealContext::signing_key(t, kid),
    },
    SealedColumn {
        select: "SELECT tenant_id, user_id, connection_id AS extra, tokens_sealed FROM identities WHERE tokens_sealed IS NOT NULL",
        update: "UPDATE identities SET tokens_sealed = $4 WHERE tenant_id = $1 AND user_id = $2 AND tokens_sealed = $3",
        context: |t, user, conn| SealContext::identity_tokens(t, user, conn),
    },
];

/// Re-seals everything under the current key; returns how many values changed.
pub async fn reseal_all(pool: &sqlx::PgPool, sealer: &Sealer) -> anyhow::Result<u64> {
    let mut count = 0;
    for column in COLUMNS {
        let rows: Vec<(Uuid, String, String, String)> =
            sqlx::query_as(column.select).fetch_all(pool).await?;
        for (tenant_id, id, extra, sealed) in rows {
            if !sealer.is_stale(&sealed) {
                continue;
            }
            let context = (column.context)(tenant_id, &id, &extra);
            let plain = sealer
                .open(&sealed, &context)
                .with_context(|| format!("opening a sealed value of tenant {tenant_id}"))?;
            let resealed = sealer.seal(&plain, &context);
            let updated = sqlx::query(column.update)
                .bind(tenant_id)
                .bind(&id)
                .bind(&sealed)
                .bind(&resealed)
                .execute(pool)
                .await?
                .rows_affected();
            count += updated;
        }
    }
    Ok(count)
}
