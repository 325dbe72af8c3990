//! What an API handler is given: [`Api`] (the application state and the caller, with
//! [`Api::run`] to run an operation on the store's blocking threads) and [`JsonObject`]
//! (the request's JSON object body), with the typed readers of its fields.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use super::ApiError;
use crate::app::{with_store, AppState, Caller};
use crate::policy::Role;
use crate::store::Store;

/// The state and the caller of a request (see [`crate::api::access`] for the caller).
pub struct Api {
    /// The application state.
    pub state: AppState,
    /// Who asks.
    pub who: Caller,
}

impl FromRequestParts<AppState> for Api {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let who = Caller::from_request_parts(parts, state).await?;
        Ok(Api {
            state: state.clone(),
            who,
        })
    }
}

impl Api {
    /// The public base URL (for permalinks and DSNs).
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// Runs `f` with the store and the caller on the blocking threads; its answer is the
    /// response.
    pub async fn run<R, F>(self, f: F) -> Result<Response, ApiError>
    where
        R: IntoResponse,
        F: FnOnce(&dyn Store, &Caller) -> Result<R, ApiError> + Send + 'static,
    {
        let who = self.who;
        with_store(&self.state, move |store| {
            f(store, &who).map(IntoResponse::into_response)
        })
        .await
    }
}

/// A JSON request body, or why it is not one.
pub(crate) type Body = Result<Json<Value>, axum::extract::rejection::JsonRejection>;

/// The JSON object of a request body.
pub(crate) fn object(body: Body) -> Result<Map<String, Value>, ApiError> {
    match body {
        Ok(Json(Value::Object(map))) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("expected a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("invalid JSON body: {e}"))),
    }
}

/// A request body that is a JSON object (anything else answers 400).
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body: Body = Json::from_request(req, state).await;
        object(body).map(JsonObject)
    }
}

/// An optional string field.
pub(crate) fn str_field<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
    }
}

/// A string field that must be there.
pub(crate) fn required_str(body: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    str_field(body, name)?
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
}

/// An optional boolean field.
pub(crate) fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a boolean"))),
    }
}

/// The optional `role` field.
pub(crate) fn role_field(body: &Map<String, Value>) -> Result<Option<Role>, ApiError> {
    str_field(body, "role")?
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                ApiError::bad_request(format!("unknown role {r:?}: use admin, member or agent"))
            })
        })
        .transpose()
}
