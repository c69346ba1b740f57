//! Acting for another role as an administrator that is not a superuser (as
//! on RDS or Cloud SQL, where the provider's role has only `CREATEDB` and
//! `CREATEROLE`): some statements need the provider's role to be a member of
//! a role (`ALTER DEFAULT PRIVILEGES FOR ROLE owner`, `CREATE DATABASE …
//! OWNER owner`, `ALTER DATABASE … OWNER TO owner`, `REASSIGN OWNED BY`).
//! As Terraform's provider does, the provider then grants itself membership
//! in that role for the duration and revokes it after. A superuser, or a
//! member already, needs nothing.

use tokio_postgres::GenericClient;

use super::quote_ident;

/// A membership the provider's role granted itself, to be revoked with
/// [`give_back`].
#[must_use = "a borrowed membership is revoked with give_back"]
pub(super) struct Borrowed {
    role: String,
}

impl Borrowed {
    /// Revokes the membership; nothing to do when the role was dropped
    /// meanwhile (which ends its memberships).
    async fn give_back(self, client: &impl GenericClient) -> Result<(), tokio_postgres::Error> {
        let exists = client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&self.role])
            .await?
            .is_some();
        if !exists {
            return Ok(());
        }
        client.batch_execute(&format!("REVOKE {} FROM CURRENT_USER", quote_ident(&self.role))).await
    }
}

/// Makes the provider's role a member of each of `roles` that it does not
/// already act for (it is not a superuser, not the role, and not a member).
/// In a transaction, the grants end with it when it rolls back.
pub(super) async fn borrow(
    client: &impl GenericClient,
    roles: &[&str],
) -> Result<Vec<Borrowed>, tokio_postgres::Error> {
    let mut borrowed = Vec::new();
    for role in roles {
        let row = client
            .query_one(
                "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
                 OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) \
                 OR pg_has_role(current_user, (SELECT oid FROM pg_roles WHERE rolname = $1), 'MEMBER')",
                &[role],
            )
            .await?;
        if row.try_get::<_, Option<bool>>(0)?.unwrap_or(true) {
            continue;
        }
        client.batch_execute(&format!("GRANT {} TO CURRENT_USER", quote_ident(role))).await?;
        borrowed.push(Borrowed { role: (*role).to_string() });
    }
    Ok(borrowed)
}

/// Revokes every borrowed membership; the first error, after trying all.
pub(super) async fn give_back(
    client: &impl GenericClient,
    borrowed: Vec<Borrowed>,
) -> Result<(), tokio_postgres::Error> {
    let mut first = Ok(());
    for membership in borrowed {
        let result = membership.give_back(client).await;
        if first.is_ok() {
            first = result;
        }
    }
    first
}
