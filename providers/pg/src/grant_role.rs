//! `pg.grant_role`: one role's membership in another (`GRANT grant_role TO
//! role`), read back from `pg_auth_members`. Every field forces a
//! replacement, so there is no update; creating a membership that exists
//! adopts it and sets its admin option as configured. Deleting revokes the
//! membership (nothing to do when either role is gone).

use orch_stdlib::Value;
use tokio_postgres::GenericClient;

use super::{Fields, PgProvider, object, pg_error, quote_ident};
use orch_provider::ProviderError;

/// Whether `role` is a member of `grant_role`, and with admin option (from
/// any grantor).
async fn membership(
    client: &impl GenericClient,
    role: &str,
    grant_role: &str,
) -> Result<Option<bool>, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT bool_or(m.admin_option) FROM pg_auth_members m \
             JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid \
             WHERE r.rolname = $1 AND g.rolname = $2",
            &[&role, &grant_role],
        )
        .await?;
    row.try_get(0)
}

fn membership_object(role: &str, grant_role: &str, admin: bool) -> Value {
    object(vec![
        ("role", Value::string(role)),
        ("grant_role", Value::string(grant_role)),
        ("with_admin_option", Value::Bool(admin)),
    ])
}

impl PgProvider {
    pub(super) async fn read_grant_role(
        &self,
        prior: Fields<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let (role, grant_role) = (prior.required_text("role")?, prior.required_text("grant_role")?);
        let mut session = self.maintenance().await?;
        let result = match membership(session.client(), &role, &grant_role).await {
            Ok(admin) => Ok(admin.map(|admin| membership_object(&role, &grant_role, admin))),
            Err(err) => {
                Err(pg_error(&format!("reading the membership of {role} in {grant_role}"), &err))
            }
        };
        session.finish(result)
    }

    pub(super) async fn create_grant_role(
        &self,
        config: Fields<'_>,
    ) -> Result<Value, ProviderError> {
        let (role, grant_role) =
            (config.required_text("role")?, config.required_text("grant_role")?);
        let admin = config.flag("with_admin_option");
        let action = format!("granting {grant_role} to {role}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            let transaction = client.transaction().await.map_err(failed)?;
            let (member, group) = (quote_ident(&role), quote_ident(&grant_role));
            let option = if admin { " WITH ADMIN OPTION" } else { "" };
            transaction
                .batch_execute(&format!("GRANT {group} TO {member}{option}"))
                .await
                .map_err(failed)?;
            if !admin
                && membership(&transaction, &role, &grant_role).await.map_err(failed)? == Some(true)
            {
                // Adopted with an admin option that is not wanted.
                transaction
                    .batch_execute(&format!("REVOKE ADMIN OPTION FOR {group} FROM {member}"))
                    .await
                    .map_err(failed)?;
            }
            let held = membership(&transaction, &role, &grant_role).await.map_err(failed)?;
            transaction.commit().await.map_err(failed)?;
            Ok(membership_object(&role, &grant_role, held.unwrap_or(admin)))
        }
        .await;
        session.finish(result)
    }

    pub(super) async fn delete_grant_role(&self, prior: Fields<'_>) -> Result<(), ProviderError> {
        let (role, grant_role) = (prior.required_text("role")?, prior.required_text("grant_role")?);
        let action = format!("revoking {grant_role} from {role}");
        let mut session = self.maintenance().await?;
        let client = session.client();
        let result = async {
            let failed = |err: tokio_postgres::Error| pg_error(&action, &err);
            if membership(&*client, &role, &grant_role).await.map_err(failed)?.is_some() {
                client
                    .batch_execute(&format!(
                        "REVOKE {} FROM {}",
                        quote_ident(&grant_role),
                        quote_ident(&role)
                    ))
                    .await
                    .map_err(failed)?;
            }
            Ok(())
        }
        .await;
        session.finish(result)
    }
}

/// The problems of a `pg.grant_role` configuration beyond those of every
/// kind.
pub(super) fn validate_grant_role(config: Fields<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    if let (Some(role), Some(grant_role)) = (config.text("role"), config.text("grant_role"))
        && role == grant_role
    {
        problems.push(format!(
            "`role` and `grant_role` are both {role}: a role cannot be a member of itself"
        ));
    }
    for field in ["role", "grant_role"] {
        if config.text(field).as_deref() == Some("public") {
            problems.push(format!("`{field}` cannot be `public`, which is not a role one can be a member of or give membership to"));
        }
    }
    problems
}
