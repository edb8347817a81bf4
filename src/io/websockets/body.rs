//! A request's body: `Content-Length` or chunked (its sizes parsed by
//! httparse), at most a limit, read under the caller's deadline.

use std::io::Read;

use crate::io::websockets::Request;

/// Why a body could not be read: the status to answer, and why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BodyError(pub u16, pub String);

/// Reads the body of `request`, of which `rest` was read with its head, at
/// most `limit` bytes.
pub(crate) fn read_body(
    request: &Request,
    rest: Vec<u8>,
    reader: &mut impl Read,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(rest, reader, limit);
    }
    let Some(length) = request.header("content-length") else {
        return Err(BodyError(
            411,
            "the request needs a Content-Length (or chunked)".to_owned(),
        ));
    };
    let length: usize = length
        .parse()
        .map_err(|_| BodyError(400, format!("Content-Length {length:?} is no number")))?;
    if length > limit {
        return Err(too_large(limit));
    }
    let mut body = rest;
    if body.len() > length {
        return Err(BodyError(
            400,
            "more bytes than the Content-Length".to_owned(),
        ));
    }
    let missing = length - body.len();
    let got = reader
        .take(missing as u64)
        .read_to_end(&mut body)
        .map_err(|e| BodyError(408, format!("reading the body failed: {e}")))?;
    if got < missing {
        return Err(BodyError(
            400,
            "the body ended before its Content-Length".to_owned(),
        ));
    }
    Ok(body)
}

fn too_large(limit: usize) -> BodyError {
    BodyError(
        413,
        format!("the body is larger than {limit} bytes (ServerConfig::max_request_body)"),
    )
}

/// A chunked body: each chunk's size line (httparse), its bytes, its CRLF,
/// until the zero chunk and the (ignored) trailers.
fn read_chunked(rest: Vec<u8>, reader: &mut impl Read, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut input = rest;
    let mut at = 0;
    let mut body = Vec::new();
    let mut more = |input: &mut Vec<u8>| -> Result<(), BodyError> {
        let mut chunk = [0u8; 4096];
        match reader.read(&mut chunk) {
            Ok(0) => Err(BodyError(400, "the chunked body ended early".to_owned())),
            Ok(n) => {
                input.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(BodyError(408, format!("reading the body failed: {e}"))),
        }
    };
    loop {
        let size = loop {
            match httparse::parse_chunk_size(&input[at..]) {
                Ok(httparse::Status::Complete((used, size))) => {
                    at += used;
                    break size;
                }
                Ok(httparse::Status::Partial) if input.len() - at > 1024 => {
                    return Err(BodyError(400, "a chunk size line is too long".to_owned()));
                }
                Ok(httparse::Status::Partial) => more(&mut input)?,
                Err(_) => return Err(BodyError(400, "a malformed chunk size".to_owned())),
            }
        };
        let size = usize::try_from(size).map_err(|_| too_large(limit))?;
        if size == 0 {
            return Ok(body); // trailers, if any, are not read: the answer closes the connection
        }
        if body.len().saturating_add(size) > limit {
            return Err(too_large(limit));
        }
        while input.len() - at < size + 2 {
            more(&mut input)?;
        }
        body.extend_from_slice(&input[at..at + size]);
        if &input[at + size..at + size + 2] != b"\r\n" {
            return Err(BodyError(400, "a chunk does not end with CRLF".to_owned()));
        }
        at += size + 2;
        // Keep what is left small: drop what was read.
        input.drain(..at);
        at = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::websockets::handshake::read_request;

    fn body(raw: &str, limit: usize) -> Result<Vec<u8>, BodyError> {
        let mut bytes = raw.as_bytes();
        let (request, rest) = match read_request(&mut bytes, None) {
            Ok(parsed) => parsed,
            Err(e) => return Err(BodyError(0, e)),
        };
        read_body(&request, rest, &mut bytes, limit)
    }

    #[test]
    fn content_length_and_chunked_bodies() {
        let plain = "POST /agui HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(body(plain, 100), Ok(b"hello".to_vec()));
        let chunked = "POST /agui HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n";
        assert_eq!(body(chunked, 100), Ok(b"hello world".to_vec()));
    }

    #[test]
    fn bad_bodies_get_their_status() {
        let status = |raw: &str, limit: usize| body(raw, limit).err().map(|e| e.0);
        assert_eq!(status("POST / HTTP/1.1\r\n\r\n", 10), Some(411));
        assert_eq!(
            status("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 10),
            Some(400)
        );
        assert_eq!(
            status(
                "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world",
                10
            ),
            Some(413)
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nhello", 10),
            Some(400)
        );
        let big = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n";
        assert_eq!(status(big, 10), Some(413));
        let bad = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(status(bad, 10), Some(400));
        let cut = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert_eq!(status(cut, 10), Some(400));
        let no_crlf = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n";
        assert_eq!(status(no_crlf, 10), Some(400));
    }
}
