//! Management API reads that wait out a failover: a GET has no body, so when its handler was
//! answered "database away" the request is extracted and handled again, with a capped
//! backoff, within `GATEHOUSE_DB_RETRY_SECONDS` (`db::retry`). A read is always safe to
//! repeat.

use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Route};

use crate::db::retry::{patiently, MaybeUnavailable};
use crate::error::ApiError;
use crate::state::AppState;

/// `web::get().to(handler)`, repeating `handler` while the database is away.
pub fn get<F, Args>(handler: F) -> Route
where
    F: Handler<Args, Output = Result<HttpResponse, ApiError>>,
    Args: FromRequest + 'static,
    Args::Error: Into<actix_web::Error>,
{
    web::get().to(move |req: HttpRequest, state: web::Data<AppState>| {
        let handler = handler.clone();
        async move {
            let attempt = |_| {
                let (req, handler) = (&req, &handler);
                async move {
                    // Extracting again is cheap for a GET (a path, a query, the token checked
                    // against cached keys) and gives the handler its arguments anew.
                    let args = Args::extract(req).await.map_err(Into::into);
                    match args {
                        Ok(args) => handler.call(args).await.map_err(Attempt::Api),
                        Err(e) => Err(Attempt::Refused(e)),
                    }
                }
            };
            match patiently(state.settings.db_retry_budget, attempt).await {
                Ok(res) => Ok(res),
                Err(Attempt::Api(e)) => Err(actix_web::Error::from(e)),
                Err(Attempt::Refused(e)) => Err(e),
            }
        }
    })
}

/// Why an attempt did not answer: the handler's error (repeated if the database was away),
/// or its arguments refused (never repeated).
#[derive(Debug)]
enum Attempt {
    Api(ApiError),
    Refused(actix_web::Error),
}

impl MaybeUnavailable for Attempt {
    fn is_unavailable(&self) -> bool {
        matches!(self, Attempt::Api(e) if e.is_unavailable())
    }
}
