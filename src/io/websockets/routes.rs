//! What a request gets: each plain HTTP answer the server gives (health
//! check, page, 426, 404, 503 while draining, refusals), decided from the
//! request alone so the decision can be tested without a socket.

use std::io::Write;

use crate::io::Filter;
use crate::io::websockets::handshake::respond;
use crate::io::websockets::{Refusal, Request, ServerConfig};

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route<'a> {
    /// A GET or HEAD of the health path: 200 `ok`, or 503 `draining` so a
    /// load balancer stops sending clients. Checked first, upgrade or not.
    Health {
        /// Whether the server is draining.
        draining: bool,
    },
    /// A plain GET or HEAD of `/` when the server has a page.
    Page(&'a str),
    /// A `POST` of a run to a frontend protocol's path.
    Run(Protocol),
    /// A browser's CORS preflight (`OPTIONS`) for a protocol's path.
    Preflight,
    /// Not a valid upgrade, on a path where a websocket is expected (`/`,
    /// `/ws`): 426 and why, so a misconfigured proxy is easy to spot.
    UpgradeRequired(&'static str),
    /// Not an upgrade, nor anything else served here.
    NotFound,
    /// A valid upgrade while the server drains: 503, connect again (to
    /// another instance).
    Draining,
    /// A valid websocket upgrade with its `Sec-WebSocket-Key`; the hook and
    /// the query's filter decide next ([`check_upgrade`]).
    Upgrade {
        /// The client's `Sec-WebSocket-Key`.
        key: &'a str,
    },
}

/// The frontend protocols a run may be asked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    /// AG-UI: a `RunAgentInput`, answered with AG-UI events.
    Agui,
    /// The Vercel AI SDK: its chat request, answered with its UI message
    /// stream.
    AiSdk,
}

impl<'a> Route<'a> {
    /// Decides the route of `request` on a server with `config`.
    pub(super) fn of(request: &'a Request, config: &'a ServerConfig, draining: bool) -> Route<'a> {
        if config.health_path.as_deref() == Some(request.path())
            && matches!(request.method(), "GET" | "HEAD")
        {
            return Route::Health { draining };
        }
        let protocol = if config.agui_path.as_deref() == Some(request.path()) {
            Some(Protocol::Agui)
        } else if config.ai_sdk_path.as_deref() == Some(request.path()) {
            Some(Protocol::AiSdk)
        } else {
            None
        };
        if let Some(protocol) = protocol {
            match request.method() {
                "POST" if draining => return Route::Draining,
                "POST" => return Route::Run(protocol),
                "OPTIONS" => return Route::Preflight,
                _ => {}
            }
        }
        match request.upgrade_key() {
            Ok(_) if draining => Route::Draining,
            Ok(key) => Route::Upgrade { key },
            Err(why) => match (&config.page, request.method(), request.path()) {
                (Some(page), "GET" | "HEAD", "/") => Route::Page(page),
                (_, _, "/" | "/ws") => Route::UpgradeRequired(why),
                _ => Route::NotFound,
            },
        }
    }

    /// The plain HTTP answer (status, content type, body); `None` for an
    /// upgrade, which the websocket handshake answers.
    pub(super) fn response(&self) -> Option<(u16, &'static str, &'a str)> {
        Some(match *self {
            Route::Health { draining: false } => (200, "text/plain", "ok\n"),
            Route::Health { draining: true } => (503, "text/plain", "draining\n"),
            Route::Page(html) => (200, "text/html; charset=utf-8", html),
            Route::UpgradeRequired(why) => (426, "text/plain", why),
            Route::NotFound => (404, "text/plain", "not found\n"),
            Route::Draining => (503, "text/plain", "server is draining; connect again\n"),
            Route::Upgrade { .. } | Route::Run(_) | Route::Preflight => return None,
        })
    }

    /// Writes the plain HTTP answer, if the route has one.
    pub(super) fn respond(&self, out: &mut impl Write) {
        if let Some((status, content_type, body)) = self.response() {
            respond(out, status, content_type, body);
        }
    }
}

/// The answer to a CORS preflight for a protocol's path: 204, naming the
/// origin when the server allows it (else without, and the browser refuses).
pub(super) fn preflight(out: &mut impl Write, request: &Request, config: &ServerConfig) {
    let allowed = match config.cors_allows(request.header("origin")) {
        Some(origin) => format!(
            "access-control-allow-origin: {origin}\r\nvary: origin\r\n\
             access-control-allow-methods: POST, OPTIONS\r\n\
             access-control-allow-headers: content-type, authorization, accept\r\n\
             access-control-max-age: 600\r\n"
        ),
        None => String::new(),
    };
    let response = format!(
        "HTTP/1.1 204 No Content\r\n{allowed}content-length: 0\r\nconnection: close\r\n\r\n"
    );
    let _ = out.write_all(response.as_bytes());
    let _ = out.flush();
}

/// The answer to a request head that could not be read or parsed.
pub(super) fn bad_request(out: &mut impl Write) {
    respond(out, 400, "text/plain", "bad request\n");
}

/// Whether an upgrade may go on: the handshake hook's verdict, then the
/// query's event filter (a malformed one is a 400 saying what is wrong).
pub(super) fn check_upgrade(request: &Request, config: &ServerConfig) -> Result<Filter, Refusal> {
    if let Some(hook) = &config.hook {
        hook(request)?;
    }
    Filter::from_query(request.query()).map_err(|e| Refusal::new(400, format!("{e}\n")))
}

/// Writes a refusal: its status, its reason as the body.
pub(super) fn refuse(out: &mut impl Write, refusal: &Refusal) {
    respond(out, refusal.status, "text/plain", &refusal.reason);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::websockets::handshake::read_request;

    const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    fn request(method: &str, target: &str, headers: &str) -> Request {
        let head = format!("{method} {target} HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        match read_request(&mut head.as_bytes(), None) {
            Ok((request, _)) => request,
            Err(e) => panic!("{e}"),
        }
    }

    fn route(
        config: &ServerConfig,
        draining: bool,
        method: &str,
        target: &str,
        headers: &str,
    ) -> String {
        let request = request(method, target, headers);
        format!("{:?}", Route::of(&request, config, draining))
    }

    fn with_page() -> ServerConfig {
        ServerConfig::default().page("<p>hi</p>")
    }

    #[test]
    fn health_checks_answer_get_and_head_and_say_when_draining() {
        let config = ServerConfig::default();
        for method in ["GET", "HEAD"] {
            assert_eq!(
                route(&config, false, method, "/healthz", ""),
                "Health { draining: false }"
            );
            assert_eq!(
                route(&config, true, method, "/healthz", ""),
                "Health { draining: true }"
            );
        }
        // Only GET and HEAD: anything else is not a health check.
        assert_eq!(route(&config, false, "POST", "/healthz", ""), "NotFound");
        // Before the upgrade check: a websocket to the health path is one.
        assert_eq!(
            route(&config, false, "GET", "/healthz", UPGRADE),
            "Health { draining: false }"
        );
    }

    #[test]
    fn no_health_path_means_no_health_check() {
        let config = ServerConfig::default().health_path(None);
        assert_eq!(route(&config, false, "GET", "/healthz", ""), "NotFound");
        let config = ServerConfig::default().health_path(Some("/up"));
        assert_eq!(
            route(&config, true, "GET", "/up", ""),
            "Health { draining: true }"
        );
        assert_eq!(route(&config, true, "GET", "/healthz", ""), "NotFound");
    }

    #[test]
    fn the_page_is_served_to_get_and_head_of_the_root_only() {
        let config = with_page();
        assert_eq!(
            route(&config, false, "GET", "/", ""),
            r#"Page("<p>hi</p>")"#
        );
        assert_eq!(
            route(&config, false, "HEAD", "/?x=1", ""),
            r#"Page("<p>hi</p>")"#
        );
        // Still served while draining: the page is not a chat.
        assert_eq!(route(&config, true, "GET", "/", ""), r#"Page("<p>hi</p>")"#);
        assert_eq!(
            route(&config, false, "POST", "/", ""),
            r#"UpgradeRequired("not a websocket upgrade")"#
        );
        assert_eq!(route(&config, false, "GET", "/index.html", ""), "NotFound");
    }

    #[test]
    fn without_a_page_the_websocket_paths_ask_for_an_upgrade() {
        let config = ServerConfig::default();
        for path in ["/", "/ws", "/ws?format=events"] {
            assert_eq!(
                route(&config, false, "GET", path, ""),
                r#"UpgradeRequired("not a websocket upgrade")"#
            );
        }
        assert_eq!(route(&config, false, "GET", "/other", ""), "NotFound");
        // An upgrade that is not a GET says so.
        assert_eq!(
            route(&config, false, "POST", "/ws", UPGRADE),
            r#"UpgradeRequired("a websocket upgrade must be a GET")"#
        );
    }

    #[test]
    fn upgrades_go_on_on_any_path_unless_draining() {
        for config in [ServerConfig::default(), with_page()] {
            for path in ["/", "/ws", "/anything"] {
                assert_eq!(
                    route(&config, false, "GET", path, UPGRADE),
                    r#"Upgrade { key: "dGhlIHNhbXBsZSBub25jZQ==" }"#
                );
                assert_eq!(route(&config, true, "GET", path, UPGRADE), "Draining");
            }
        }
    }

    #[test]
    fn each_plain_route_has_its_answer() {
        let answers = [
            (
                Route::Health { draining: false },
                Some((200, "text/plain", "ok\n")),
            ),
            (
                Route::Health { draining: true },
                Some((503, "text/plain", "draining\n")),
            ),
            (
                Route::Page("<p>"),
                Some((200, "text/html; charset=utf-8", "<p>")),
            ),
            (
                Route::UpgradeRequired("why"),
                Some((426, "text/plain", "why")),
            ),
            (Route::NotFound, Some((404, "text/plain", "not found\n"))),
            (
                Route::Draining,
                Some((503, "text/plain", "server is draining; connect again\n")),
            ),
            (Route::Upgrade { key: "k" }, None),
        ];
        for (route, answer) in answers {
            assert_eq!(route.response(), answer, "{route:?}");
        }
        let mut out = Vec::new();
        Route::Upgrade { key: "k" }.respond(&mut out);
        assert!(out.is_empty(), "the handshake answers an upgrade");
        Route::NotFound.respond(&mut out);
        assert!(out.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
    }

    #[test]
    fn runs_are_posted_to_each_protocols_path() {
        let config = ServerConfig::default();
        assert_eq!(route(&config, false, "POST", "/agui", ""), "Run(Agui)");
        assert_eq!(route(&config, false, "POST", "/api/chat", ""), "Run(AiSdk)");
        assert_eq!(
            route(&config, false, "OPTIONS", "/api/chat", ""),
            "Preflight"
        );
        assert_eq!(route(&config, true, "POST", "/api/chat", ""), "Draining");
        // The AI SDK's websocket transport upgrades on the same path.
        assert_eq!(
            route(&config, false, "GET", "/api/chat", UPGRADE),
            r#"Upgrade { key: "dGhlIHNhbXBsZSBub25jZQ==" }"#
        );
        let config = ServerConfig::default()
            .ai_sdk_path(None)
            .agui_path(Some("/run"));
        assert_eq!(route(&config, false, "POST", "/api/chat", ""), "NotFound");
        assert_eq!(route(&config, false, "POST", "/run", ""), "Run(Agui)");
    }

    #[test]
    fn the_hook_then_the_filter_vet_an_upgrade() {
        let config =
            ServerConfig::default().handshake_hook(|r: &Request| match r.query_param("token") {
                Some(_) => Ok(()),
                None => Err(Refusal::new(401, "no token\n")),
            });
        let refusal = check_upgrade(&request("GET", "/ws", UPGRADE), &config).err();
        assert_eq!(refusal, Some(Refusal::new(401, "no token\n")));
        assert!(check_upgrade(&request("GET", "/ws?token=t", UPGRADE), &config).is_ok());
        let refusal = check_upgrade(
            &request("GET", "/ws?token=t&events=text,-print", UPGRADE),
            &config,
        );
        assert!(
            matches!(refusal, Err(Refusal { status: 400, .. })),
            "{refusal:?}"
        );
    }
}
