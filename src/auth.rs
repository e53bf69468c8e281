//! Bearer-token authentication: a tower layer in front of every gRPC service.
//!
//! A tonic interceptor is synchronous and per service; a layer sees every call, so the
//! health service (and reflection, when configured so) can stay open while LeadCheck
//! needs a token. Tokens are compared in constant time.

use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready};
use subtle::ConstantTimeEq;
use tonic::codegen::http;
use tower::{Layer, Service};

/// The bearer tokens that are accepted, and which paths need none.
#[derive(Clone)]
pub struct AuthLayer {
    tokens: Arc<Vec<Vec<u8>>>,
    open_prefixes: Arc<Vec<&'static str>>,
}

/// Why the tokens could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read.
    #[error("cannot read token file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Auth was asked for but no token was given.
    #[error("no bearer token in {0}")]
    Empty(String),
}

/// Reads tokens: one a line (or comma-separated), blank lines and `#` comments ignored.
pub fn parse_tokens(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads the token file.
pub fn load_tokens(path: &Path) -> Result<Vec<String>, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let tokens = parse_tokens(&text);
    if tokens.is_empty() {
        return Err(TokenError::Empty(path.display().to_string()));
    }
    Ok(tokens)
}

impl AuthLayer {
    /// Makes the layer; paths starting with one of `open_prefixes` need no token.
    pub fn new(tokens: Vec<String>, open_prefixes: Vec<&'static str>) -> AuthLayer {
        AuthLayer {
            tokens: Arc::new(tokens.into_iter().map(String::into_bytes).collect()),
            open_prefixes: Arc::new(open_prefixes),
        }
    }

    fn allows(&self, path: &str, authorization: Option<&http::HeaderValue>) -> bool {
        if self.open_prefixes.iter().any(|p| path.starts_with(p)) {
            return true;
        }
        let Some(given) = authorization
            .map(http::HeaderValue::as_bytes)
            .and_then(|v| {
                v.strip_prefix(b"Bearer ")
                    .or_else(|| v.strip_prefix(b"bearer "))
            })
        else {
            return false;
        };
        // Every token is compared, without early exit, so timing tells nothing.
        self.tokens.iter().fold(false, |found, token| {
            found | bool::from(token.as_slice().ct_eq(given))
        })
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service the [`AuthLayer`] wraps around the server's routes.
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, B> Service<http::Request<B>> for Auth<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<S::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if self
            .layer
            .allows(request.uri().path(), request.headers().get("authorization"))
        {
            Either::Right(self.inner.call(request))
        } else {
            let status = tonic::Status::unauthenticated(
                "missing or invalid bearer token (authorization: Bearer ...)",
            );
            Either::Left(futures::future::ready(Ok(status.into_http())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_and_open_paths_pass() {
        let layer = AuthLayer::new(
            parse_tokens("# comment\nalpha\n\nbeta, gamma\n"),
            vec!["/grpc.health.v1.Health/"],
        );
        let header = |v: &str| http::HeaderValue::from_str(v).unwrap();
        let path = "/leadcheck.v1.LeadCheck/ValidateEmail";
        assert!(layer.allows(path, Some(&header("Bearer alpha"))));
        assert!(layer.allows(path, Some(&header("Bearer gamma"))));
        assert!(!layer.allows(path, Some(&header("Bearer alph"))));
        assert!(!layer.allows(path, Some(&header("alpha"))));
        assert!(!layer.allows(path, None));
        assert!(layer.allows("/grpc.health.v1.Health/Check", None));
    }
}
