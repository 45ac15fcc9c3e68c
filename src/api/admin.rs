//! The operator's routes under `/admin`, guarded by the `X-Admin-Token` header (compared in
//! constant time; 401 otherwise): open accounts with API keys, deposit, withdraw, read balances,
//! list symbols and change their filters and fees (`admin_symbols.rs`).
//!
//! Every action that changes something is audited twice in the append-only `admin_audit`
//! table: its request before it runs (an action that cannot be audited does not run) and its
//! outcome after.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::account::Balance;
use exchange_actors::account::actor::{GetBalances, OpenAccount, Transfer, TransferDirection};
use exchange_actors::model::{AccountId, AssetCode};
use rand::Rng as _;
use rand::distributions::Alphanumeric;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin_symbols::{change_symbol, list_symbol};
use super::core::{TradingCore, mailbox_error, shard_error};
use super::errors::{ApiError, code};
use super::keys::ApiCredential;
use super::metrics::{ADMIN_TOKEN_MISSING, ADMIN_TOKEN_WRONG, count_auth_failure};
use super::openapi::{AdminAccountBody, ErrorBody, UNAVAILABLE, refused};
use super::render;
use crate::safety_metrics::{AdminOperation, count_admin_operation, count_audit_write_failure};
use crate::store::{AuditRecord, StoredApiKey};

/// The header carrying the admin token.
pub const ADMIN_TOKEN_HEADER: &str = "X-Admin-Token";
const API_KEY_LEN: usize = 64;
/// Largest admin request body (a transfer is a few dozen bytes).
const ADMIN_BODY_BYTES_MAX: usize = 4_096;

/// Mounts `/admin/...`; `core` must be app data too. A body or path that does not parse is
/// answered as Binance would (`{"code","msg"}`), not with actix's plain text.
pub fn configure_admin(config: &mut web::ServiceConfig) {
    config
        .app_data(web::JsonConfig::default().limit(ADMIN_BODY_BYTES_MAX).error_handler(
            |error, _request| {
                let msg = format!("Data sent for parameter 'body' is not valid: {error}");
                ApiError::bad_request(code::INVALID_PARAMETER, msg).into()
            },
        ))
        .app_data(
            web::PathConfig::default()
                .error_handler(|_error, _request| ApiError::invalid_parameter("accountId").into()),
        )
        .route("/admin/accounts", web::post().to(open_account))
        .route("/admin/accounts/{id}", web::get().to(account))
        .route("/admin/deposits", web::post().to(deposit))
        .route("/admin/withdrawals", web::post().to(withdraw))
        .route("/admin/symbols", web::post().to(list_symbol))
        .route("/admin/symbols/{symbol}", web::put().to(change_symbol));
    super::admin_switches::configure_switches(config);
    super::admin_reconcile::configure_reconcile(config);
    super::admin_corrections::configure_corrections(config);
}

/// Refuses (401, counted) a request without the admin token.
pub(super) fn check_admin(request: &HttpRequest, core: &TradingCore) -> Result<(), ApiError> {
    let reason = match request.headers().get(ADMIN_TOKEN_HEADER) {
        Some(token) if core.is_admin(token.as_bytes()) => return Ok(()),
        Some(_) => ADMIN_TOKEN_WRONG,
        None => ADMIN_TOKEN_MISSING,
    };
    count_auth_failure(reason);
    Err(ApiError::new(StatusCode::UNAUTHORIZED, code::REJECTED_MBX_KEY, "Invalid admin token."))
}

pub(super) fn now_ms() -> u64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// An admin action being audited: appends its request now, its outcome at [`Audit::finish`].
pub(super) struct Audit<'a> {
    core: &'a TradingCore,
    action: &'static str,
    subject: String,
}

impl<'a> Audit<'a> {
    pub(super) async fn start(
        core: &'a TradingCore,
        action: &'static str,
        subject: String,
        detail: serde_json::Value,
    ) -> Result<Audit<'a>, ApiError> {
        let audit = Audit { core, action, subject };
        audit.append(detail.to_string(), "requested").await?;
        Ok(audit)
    }

    async fn append(&self, detail: String, outcome: &str) -> Result<(), ApiError> {
        let record = AuditRecord {
            at_ms: now_ms(),
            action: self.action.to_owned(),
            subject: self.subject.clone(),
            detail,
            outcome: outcome.to_owned(),
        };
        self.core.store.append_audit(&record).await.map_err(|error| {
            count_audit_write_failure();
            tracing::error!(%error, action = self.action, "admin audit trail unwritable");
            ApiError::internal("The audit trail is unavailable; nothing was done.")
        })
    }

    /// Records how the action ended; the action's own answer wins over an audit failure (it
    /// has happened), which is logged.
    pub(super) async fn finish<T>(self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        if let Some(operation) = high_risk(self.action) {
            count_admin_operation(operation, result.is_ok());
        }
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(error) => format!("refused {}: {}", error.code(), error.msg()),
        };
        let _logged = self.append(String::new(), &outcome).await;
        result
    }
}

/// The high-risk operation an audited action is, if it is one (opening an account is not).
fn high_risk(action: &str) -> Option<AdminOperation> {
    match action {
        "deposit" => Some(AdminOperation::Deposit),
        "withdrawal" => Some(AdminOperation::Withdrawal),
        "correction" => Some(AdminOperation::Correction),
        "list_symbol" | "change_symbol" => Some(AdminOperation::SymbolListing),
        _ => None,
    }
}

fn random_key() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(API_KEY_LEN).map(char::from).collect()
}

/// A new account and its credentials (the secret is shown only here).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct NewAccount {
    account_id: u64,
    api_key: String,
    secret_key: String,
}

/// Open an account with a new API key.
#[utoipa::path(
    post,
    path = "/admin/accounts",
    tag = "admin",
    request_body(content = Object, description = "An empty JSON object.", example = json!({})),
    responses(
        (status = 200, description = "The account and its key.", body = NewAccount),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
async fn open_account(
    request: HttpRequest,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let account_id = core.allocate_account();
    let audit = Audit::start(
        &core,
        "open_account",
        format!("account:{}", account_id.0),
        serde_json::json!({}),
    )
    .await?;
    let opened = open_with_key(&core, account_id).await;
    audit.finish(opened).await.map(|account| HttpResponse::Ok().json(account))
}

/// Opens the account in its shard, then stores and registers a fresh key for it (stored
/// first, so a key handed out always survives a restart).
async fn open_with_key(core: &TradingCore, account_id: AccountId) -> Result<NewAccount, ApiError> {
    core.shard(account_id)
        .send(OpenAccount(account_id))
        .await
        .map_err(|error| mailbox_error(&error))?
        .map_err(shard_error)?;
    let key =
        StoredApiKey { api_key: random_key(), account_id: account_id.0, secret: random_key() };
    core.store
        .insert_api_key(&key, now_ms())
        .await
        .map_err(|error| ApiError::internal(format!("storing the API key: {error}")))?;
    core.keys
        .insert(&key.api_key, ApiCredential::new(account_id, key.secret.as_bytes()))
        .map_err(|error| ApiError::internal(error.to_string()))?;
    Ok(NewAccount { account_id: account_id.0, api_key: key.api_key, secret_key: key.secret })
}

/// A deposit or withdrawal: a ledger entry between the account and the outside.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TransferBody {
    account_id: u64,
    asset: String,
    /// A positive decimal with at most the asset's decimal places.
    amount: String,
    /// The operator's reference of the transfer (default 0).
    #[serde(default)]
    reference: u64,
}

/// One asset's balance: available (`free`) and held by open orders (`locked`).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BalanceBody {
    asset: String,
    free: String,
    locked: String,
}

fn balance_body(asset: &str, balance: Balance, scale: u32) -> BalanceBody {
    BalanceBody {
        asset: asset.to_owned(),
        free: render::minor_units(balance.available, scale),
        locked: render::minor_units(balance.held, scale),
    }
}

/// `amount` in minor units of an asset with `scale` decimals: positive and a whole number of
/// minor units, else -1111 (too much precision) or -1130.
pub fn to_minor_units(amount: &str, scale: u32) -> Result<i128, ApiError> {
    let value: Decimal =
        amount.trim().parse().map_err(|_| ApiError::invalid_parameter("amount"))?;
    if value <= Decimal::ZERO {
        return Err(ApiError::invalid_parameter("amount"));
    }
    let factor = 10_u64
        .checked_pow(scale)
        .map(Decimal::from)
        .ok_or_else(|| ApiError::invalid_parameter("amount"))?;
    let units = value.checked_mul(factor).ok_or_else(|| ApiError::invalid_parameter("amount"))?;
    if !units.fract().is_zero() {
        return Err(ApiError::too_much_precision("amount"));
    }
    rust_decimal::prelude::ToPrimitive::to_i128(&units)
        .ok_or_else(|| ApiError::invalid_parameter("amount"))
}

async fn transfer(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    body: web::Json<TransferBody>,
    direction: TransferDirection,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let body = body.into_inner();
    let action = match direction {
        TransferDirection::Deposit => "deposit",
        TransferDirection::Withdrawal => "withdrawal",
        TransferDirection::CorrectionCredit | TransferDirection::CorrectionDebit => "correction",
    };
    let detail = serde_json::to_value(&body).unwrap_or_default();
    let audit = Audit::start(&core, action, format!("account:{}", body.account_id), detail).await?;
    let moved =
        move_funds(&core, body.account_id, &body.asset, &body.amount, body.reference, direction)
            .await;
    audit.finish(moved).await.map(|balance| HttpResponse::Ok().json(balance))
}

/// Moves `amount` (a positive decimal) of `asset_name` between the account and the outside
/// world. Deposits and withdrawals obey the kill switches; corrections (repairs) do not.
pub(super) async fn move_funds(
    core: &TradingCore,
    account_id: u64,
    asset_name: &str,
    amount: &str,
    reference: u64,
    direction: TransferDirection,
) -> Result<BalanceBody, ApiError> {
    match direction {
        TransferDirection::Deposit => super::gate::check_transfer(core, false)?,
        TransferDirection::Withdrawal => super::gate::check_transfer(core, true)?,
        TransferDirection::CorrectionCredit | TransferDirection::CorrectionDebit => {}
    }
    let scale =
        *core.asset_scales.get(asset_name).ok_or_else(|| ApiError::invalid_parameter("asset"))?;
    let asset = AssetCode::new(asset_name).map_err(|_| ApiError::invalid_parameter("asset"))?;
    let amount = to_minor_units(amount, scale)?;
    let account_id = AccountId(account_id);
    let balance = core
        .shard(account_id)
        .send(Transfer { direction, account_id, asset, amount, reference })
        .await
        .map_err(|error| mailbox_error(&error))?
        .map_err(shard_error)?;
    Ok(balance_body(asset_name, balance, scale))
}

/// Deposit into an account.
#[utoipa::path(
    post,
    path = "/admin/deposits",
    tag = "admin",
    request_body = TransferBody,
    responses(
        (status = 200, description = "The asset's balance after the deposit.", body = BalanceBody),
        (status = 400, description = refused(&[&[code::INVALID_PARAMETER, code::BAD_PRECISION]]),
            body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
async fn deposit(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    body: web::Json<TransferBody>,
) -> Result<HttpResponse, ApiError> {
    transfer(request, core, body, TransferDirection::Deposit).await
}

/// Withdraw from an account (from its available balance).
#[utoipa::path(
    post,
    path = "/admin/withdrawals",
    tag = "admin",
    request_body = TransferBody,
    responses(
        (status = 200, description = "The asset's balance after the withdrawal.", body = BalanceBody),
        (status = 400, description = refused(&[&[
            code::INVALID_PARAMETER, code::BAD_PRECISION, code::NEW_ORDER_REJECTED,
        ]]), body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
async fn withdraw(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    body: web::Json<TransferBody>,
) -> Result<HttpResponse, ApiError> {
    transfer(request, core, body, TransferDirection::Withdrawal).await
}

/// An account's balances, rendered with each asset's scale.
pub async fn balances(
    core: &TradingCore,
    account_id: AccountId,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let balances = core
        .shard(account_id)
        .send(GetBalances(account_id))
        .await
        .map_err(|error| mailbox_error(&error))?
        .map_err(shard_error)?;
    Ok(balances
        .into_iter()
        .map(|(asset, balance)| {
            let name = asset.to_string();
            let scale = core.asset_scales.get(&name).copied().unwrap_or(0);
            serde_json::to_value(balance_body(&name, balance, scale)).unwrap_or_default()
        })
        .collect())
}

/// An account's balances.
#[utoipa::path(
    get,
    path = "/admin/accounts/{id}",
    operation_id = "admin_account",
    tag = "admin",
    params(("id" = u64, Path, description = "The account id.")),
    responses(
        (status = 200, description = "The account's balances.", body = AdminAccountBody),
        (status = 400, description = refused(&[&[code::INVALID_PARAMETER]]), body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
async fn account(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    path: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let account_id = AccountId(path.into_inner());
    let balances = balances(&core, account_id).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "accountId": account_id.0, "balances": balances })))
}
