//! The one HTTP router. Kept tiny on purpose: the agent (issue 4) adds its websocket route
//! here, and everything else is the API handlers' business.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};

use super::api;
use super::events::delivery;
use super::state::EmulatorState;

/// The body type of every emulator response.
pub type ResponseBody = Full<Bytes>;

pub async fn route(
    state: Arc<EmulatorState>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let is_data_channel = request.uri().path().starts_with("/v1/data-channel/");
    let response = match *request.method() {
        // The StreamUrl websocket: the agent (issue 4).
        Method::GET if is_data_channel => super::agent::handle_upgrade(state, request).await,
        Method::GET if request.uri().path() == delivery::DELIVERIES_PATH => {
            delivery::read_endpoint(&state, request.uri().query())
        }
        Method::POST => api::handle(state, request).await,
        _ => plain(
            StatusCode::NOT_FOUND,
            "gangway emulator: POST EC2 Query or SSM JSON 1.1 requests to /\n",
        ),
    };
    Ok(response)
}

pub fn plain(status: StatusCode, text: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}
