//! Reading answer bodies with a size limit, and putting a read body back into a response.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use reqwest::ResponseBuilderExt;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The body is larger than the limit.
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The connection failed while reading.
    Body(reqwest::Error),
}

/// Reads the whole body, failing as soon as it grows past `limit` bytes.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(ReadError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Body)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(ReadError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A response whose body was (at least partly) read to be looked at.
pub(crate) struct Buffered {
    /// The response, with its body whole again for the caller.
    pub(crate) response: reqwest::Response,
    /// The whole body, when it fit in the limit; `None` when it was larger (the response then
    /// streams the part already read followed by the rest).
    pub(crate) body: Option<Bytes>,
}

/// Reads up to `limit` bytes of the body, and gives back a response that still yields the
/// whole body, with the same status, headers, extensions and URL.
pub(crate) async fn buffer(response: reqwest::Response, limit: usize) -> Buffered {
    let url = response.url().clone();
    let http_response: http::Response<reqwest::Body> = response.into();
    let (mut parts, mut rest) = http_response.into_parts();
    // The URL travels in a private extension of reqwest; the public builder puts it back.
    if let Ok(carrier) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(carrier.into_parts().0.extensions);
    }
    let mut read = BytesMut::new();
    let outcome = loop {
        if read.len() > limit {
            break Outcome::TooLarge;
        }
        match rest.frame().await {
            None => break Outcome::Complete,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => read.extend_from_slice(&data),
                // Trailers: nothing more to read; HTTP/1.1 JSON answers have none.
                Err(_) => break Outcome::Complete,
            },
            Some(Err(e)) => break Outcome::Failed(e),
        }
    };
    let read = read.freeze();
    let (body, whole) = match outcome {
        Outcome::Complete => (reqwest::Body::from(read.clone()), Some(read)),
        Outcome::TooLarge => (
            reqwest::Body::wrap(Prefixed {
                prefix: Some(read),
                rest,
                error: None,
            }),
            None,
        ),
        Outcome::Failed(error) => (
            reqwest::Body::wrap(Prefixed {
                prefix: Some(read),
                rest: reqwest::Body::from(Bytes::new()),
                error: Some(error),
            }),
            None,
        ),
    };
    Buffered {
        response: http::Response::from_parts(parts, body).into(),
        body: whole,
    }
}

enum Outcome {
    Complete,
    TooLarge,
    Failed(reqwest::Error),
}

/// The bytes already read, then the rest of the body (or the error that stopped reading).
struct Prefixed {
    prefix: Option<Bytes>,
    rest: reqwest::Body,
    error: Option<reqwest::Error>,
}

impl HttpBody for Prefixed {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        if let Some(prefix) = self.prefix.take() {
            if !prefix.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(prefix))));
            }
        }
        if let Some(error) = self.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.as_ref().is_none_or(Bytes::is_empty)
            && self.error.is_none()
            && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.rest.size_hint();
        let prefix = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let mut hint = SizeHint::new();
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(prefix));
        }
        hint.set_lower(rest.lower().saturating_add(prefix));
        hint
    }
}
