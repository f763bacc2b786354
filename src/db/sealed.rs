//! Every value sealed under the master key, wherever it is stored, for master key rotation:
//! read them all, and swap one for its re-sealed form only if the row still holds it.

use sqlx::PgExecutor;
use uuid::Uuid;

/// A column that holds sealed values.
#[derive(Clone, Copy, Debug)]
pub enum Column {
    /// `connections.client_secret_sealed`: upstream client secrets.
    ConnectionSecret,
    /// `signing_keys.private_key_sealed`: the private halves of signing keys.
    SigningKey,
    /// `identities.tokens_sealed`: users' upstream tokens.
    UpstreamTokens,
}

/// One sealed value and the row holding it: `id` is the connection id, kid or user id;
/// `extra` the connection id of an identity, empty for the others.
#[derive(Clone, Debug)]
pub struct SealedValue {
    pub tenant_id: Uuid,
    pub id: String,
    pub extra: String,
    pub sealed: String,
}

/// Every value sealed in `column`, of all tenants.
pub async fn all(db: impl PgExecutor<'_>, column: Column) -> Result<Vec<SealedValue>, sqlx::Error> {
    match column {
        Column::ConnectionSecret => {
            sqlx::query_as!(
                SealedValue,
                r#"SELECT tenant_id, connection_id AS id, '' AS "extra!",
                          client_secret_sealed AS "sealed!"
                   FROM connections WHERE client_secret_sealed IS NOT NULL"#
            )
            .fetch_all(db)
            .await
        }
        Column::SigningKey => {
            sqlx::query_as!(
                SealedValue,
                r#"SELECT tenant_id, kid AS id, '' AS "extra!", private_key_sealed AS sealed
                   FROM signing_keys"#
            )
            .fetch_all(db)
            .await
        }
        Column::UpstreamTokens => sqlx::query_as!(
            SealedValue,
            r#"SELECT tenant_id, user_id AS id, connection_id AS extra, tokens_sealed AS "sealed!"
                   FROM identities WHERE tokens_sealed IS NOT NULL"#
        )
        .fetch_all(db)
        .await,
    }
}

/// Replaces `sealed` by `resealed` in the row it was read from, unless the row has changed
/// since; how many rows were changed.
pub async fn swap(
    db: impl PgExecutor<'_>,
    column: Column,
    tenant_id: Uuid,
    id: &str,
    sealed: &str,
    resealed: &str,
) -> Result<u64, sqlx::Error> {
    let done = match column {
        Column::ConnectionSecret => {
            sqlx::query!(
                "UPDATE connections SET client_secret_sealed = $4
             WHERE tenant_id = $1 AND connection_id = $2 AND client_secret_sealed = $3",
                tenant_id,
                id,
                sealed,
                resealed,
            )
            .execute(db)
            .await?
        }
        Column::SigningKey => {
            sqlx::query!(
                "UPDATE signing_keys SET private_key_sealed = $4
             WHERE tenant_id = $1 AND kid = $2 AND private_key_sealed = $3",
                tenant_id,
                id,
                sealed,
                resealed,
            )
            .execute(db)
            .await?
        }
        Column::UpstreamTokens => {
            sqlx::query!(
                "UPDATE identities SET tokens_sealed = $4
             WHERE tenant_id = $1 AND user_id = $2 AND tokens_sealed = $3",
                tenant_id,
                id,
                sealed,
                resealed,
            )
            .execute(db)
            .await?
        }
    };
    Ok(done.rows_affected())
}
